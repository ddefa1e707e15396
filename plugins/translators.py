"""Image-to-image translation networks: the ``cyclegan``, ``cut`` and ``pix2pix`` schemes'.

- generator ``resnet-translator`` (Johnson et al. 2016, as CycleGAN uses it):
  ``c7s1-w, d2w, d4w, R4w x blocks, u2w, uw, c7s1-C``: a 7x7 convolution, two stride-2
  3x3 down-samples, residual blocks, two stride-2 transposed up-samples and a 7x7
  convolution to the image with ``tanh``; reflection padding before every unstrided
  convolution, instance norm (``GroupNormalization(groups=-1)``) and ReLU after every
  convolution but the last. Its encoder layers are named ``encoder_0`` (the padded
  source image), ``encoder_1`` and ``encoder_2`` (the down-samples), ``encoder_3`` and
  ``encoder_4`` (the residual blocks a third and two thirds in): CUT's
  ``nce_layers 0,4,8,12,16``.
- generator ``unet`` (pix2pix, Isola et al. 2017): ``C64-C128-C256-C512-...`` 4x4
  stride-2 convolutions down to 1x1 (LeakyReLU 0.2, instance norm but on the first and
  the innermost), mirrored by transposed convolutions (ReLU, instance norm, dropout 0.5
  on the three deepest, as pix2pix's noise), each joined with its encoder twin.
- discriminator ``patchgan`` (pix2pix/CycleGAN's 70x70 PatchGAN at 256 px):
  ``C64-C128-C256-C512`` 4x4 convolutions, the first ``depth`` of them stride 2 (3 from
  64 px up, 2 at 32 px, 1 at 16 px and below), then a 4x4 convolution to one logit per
  patch; LeakyReLU 0.2, instance norm but on the first. It sees the image and any
  condition images of the spec stacked on channels (pix2pix's ``(source, image)``).

Reflection padding is Keras core layers only (single rows and columns cropped and
concatenated in mirror order), so exports load with Keras alone (``safe_mode=True``).
Instance norm's gamma starts at N(1, 0.02) and convolutions' weights at N(0, 0.02), as
in both papers' code.

References: Johnson, Alahi, Fei-Fei, "Perceptual Losses for Real-Time Style Transfer
and Super-Resolution", ECCV 2016; Zhu, Park, Isola, Efros, "Unpaired Image-to-Image
Translation using Cycle-Consistent Adversarial Networks", ICCV 2017; Isola, Zhu, Zhou,
Efros, "Image-to-Image Translation with Conditional Adversarial Networks", CVPR 2017.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import gankit
from gankit.conditions import SOURCE

CHANNELS = (64, 128, 256, 512)  # PatchGAN's and U-Net's widths at width=64


def _side(spec: gankit.ModelSpec, low: int, high: int) -> int:
    height, width, _ = spec.image_shape
    if height != width or height & (height - 1) or not low <= height <= high:
        raise ValueError(
            f"`image_shape` must be square with a power-of-two side from {low} to {high}, "
            f"received `{spec.image_shape}`."
        )
    return height


def _positive(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, received `{value}`.")
    return value


def _translation_input(spec: gankit.ModelSpec, name: str) -> Any:
    import keras

    if not spec.translation:
        raise ValueError(
            f"{name} is a translation generator: it needs a translation scheme "
            "(--scheme cyclegan, cut or pix2pix), not noise"
        )
    return keras.Input(tuple(spec.conditions[SOURCE]), name=SOURCE)


def _init() -> Any:
    import keras

    return keras.initializers.RandomNormal(0.0, 0.02)


def instance_norm(name: str | None = None) -> Any:
    """Instance normalisation: group norm with one group per channel."""
    import keras

    return keras.layers.GroupNormalization(
        groups=-1,
        epsilon=1e-5,
        gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02),
        name=name,
    )


def reflection_pad(x: Any, pad: int, name: str) -> Any:
    """``x`` padded by ``pad`` pixels on each side by reflection (``np.pad`` mode
    ``reflect``), in Keras core layers: single rows and columns cropped out and joined
    in mirror order."""
    from keras import layers

    for axis in (1, 2):
        n = x.shape[axis]
        if pad >= n:
            raise ValueError(f"cannot reflect-pad {pad} pixels on a side of {n}")

        def line(i: int, source: Any = x, axis: int = axis, n: int = n) -> Any:
            keep = (i, n - i - 1)
            return layers.Cropping2D((keep, (0, 0)) if axis == 1 else ((0, 0), keep))(source)

        before = [line(i) for i in range(pad, 0, -1)]
        after = [line(i) for i in range(n - 2, n - 2 - pad, -1)]
        x = layers.Concatenate(axis=axis, name=f"{name}_{'rows' if axis == 1 else 'cols'}")(
            [*before, x, *after]
        )
    return x


def _conv_block(x: Any, filters: int, kernel: int, name: str, *, relu: bool = True) -> Any:
    """Reflection pad, unstrided convolution, instance norm, ReLU."""
    from keras import layers

    from gankit.nn import layers as fast

    x = reflection_pad(x, kernel // 2, f"{name}_pad") if kernel > 1 else x
    x = fast.Conv2D(
        filters, kernel, padding="valid", kernel_initializer=_init(), name=f"{name}_conv"
    )(x)
    x = instance_norm(f"{name}_norm")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def build_resnet_translator(
    spec: gankit.ModelSpec, *, width: int | Literal["auto"] = "auto", blocks: int | None = None
) -> Any:
    """ResNet translation generator (Johnson et al. 2016; CycleGAN's, CUT's).

    Args:
        spec: a translation spec (``spec.translation``): source and output images, square,
            16 to 256 pixels.
        width: channels of the first convolution (CycleGAN: 64); the down-samples double it
            twice. ``"auto"``: 64 from 64 px up, 32 below (half the cost a step at 32 px).
        blocks: residual blocks at a quarter of the image's side; default 9 from 256 px
            up, else 6 (CycleGAN's choice for 128 px).
    """
    import keras
    from keras import layers

    from gankit.nn import layers as fast

    side = _side(spec, 16, 256)
    width = _positive("width", width if width != "auto" else (64 if side >= 64 else 32))
    blocks = _positive("blocks", blocks if blocks is not None else (9 if side >= 256 else 6))
    if blocks < 2:
        raise ValueError(f"`blocks` must be at least 2, received `{blocks}`.")
    source = _translation_input(spec, "resnet-translator")
    x = layers.Identity(name="encoder_0")(reflection_pad(source, 3, "stem_pad"))
    x = fast.Conv2D(width, 7, padding="valid", kernel_initializer=_init(), name="stem_conv")(x)
    x = layers.ReLU(name="stem_relu")(instance_norm("stem_norm")(x))
    for i in (1, 2):
        x = fast.Conv2D(
            width * 2**i,
            3,
            strides=2,
            padding="same",
            kernel_initializer=_init(),
            name=f"down{i}_conv",
        )(x)
        x = layers.ReLU(name=f"encoder_{i}")(instance_norm(f"down{i}_norm")(x))
    tapped = {
        max(0, blocks // 3 - 1): "encoder_3",
        max(1, 2 * blocks // 3): "encoder_4",
    }  # CUT: blocks 2 and 6 of 9
    for b in range(blocks):
        y = _conv_block(x, width * 4, 3, f"res{b}_a")
        y = _conv_block(y, width * 4, 3, f"res{b}_b", relu=False)
        x = layers.Add(name=tapped.get(b, f"res{b}_add"))([x, y])
    for i in (2, 1):
        x = fast.Conv2DTranspose(
            width * 2 ** (i - 1),
            3,
            strides=2,
            padding="same",
            kernel_initializer=_init(),
            name=f"up{i}_conv",
        )(x)
        x = layers.ReLU(name=f"up{i}_relu")(instance_norm(f"up{i}_norm")(x))
    x = reflection_pad(x, 3, "head_pad")
    x = layers.Conv2D(
        spec.image_shape[2], 7, padding="valid", kernel_initializer=_init(), name="head_conv"
    )(x)
    image = layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model(source, image, name="resnet_translator")


def build_unet(spec: gankit.ModelSpec, *, width: int = 64, dropout: float = 0.5) -> Any:
    """pix2pix's U-Net generator (Isola et al. 2017): down to 1x1 and back, with skips.

    Args:
        spec: a translation spec (``spec.translation``): square, 16 to 256 pixels.
        width: channels of the outermost layer (pix2pix: 64), doubled per layer up to 8x.
        dropout: dropout on the three innermost decoder layers, in training only
            (pix2pix's only noise); 0 turns it off.
    """
    import keras
    from keras import layers

    from gankit.nn import layers as fast

    side = _side(spec, 16, 256)
    width = _positive("width", width)
    if not 0 <= dropout < 1:
        raise ValueError(f"`dropout` must be in [0, 1), received `{dropout}`.")
    depth = int(math.log2(side))
    channels = [width * min(2**i, 8) for i in range(depth)]
    source = _translation_input(spec, "unet")
    x, skips = source, []
    for i, filters in enumerate(channels):
        x = x if i == 0 else layers.LeakyReLU(0.2, name=f"down{i}_act")(x)
        x = fast.Conv2D(
            filters, 4, strides=2, padding="same", kernel_initializer=_init(), name=f"down{i}_conv"
        )(x)
        if 0 < i < depth - 1:
            x = instance_norm(f"down{i}_norm")(x)
        x = layers.Identity(name=f"encoder_{i}")(x) if i < 5 else x
        skips.append(x)
    for i in range(depth - 1, 0, -1):
        x = layers.ReLU(name=f"up{i}_act")(x)
        x = fast.Conv2DTranspose(
            channels[i - 1],
            4,
            strides=2,
            padding="same",
            kernel_initializer=_init(),
            name=f"up{i}_conv",
        )(x)
        x = instance_norm(f"up{i}_norm")(x)
        if dropout and i >= depth - 3:
            x = layers.Dropout(dropout, name=f"up{i}_dropout")(x)
        x = layers.Concatenate(name=f"up{i}_skip")([x, skips[i - 1]])
    x = layers.ReLU(name="head_act")(x)
    x = layers.Conv2DTranspose(
        spec.image_shape[2],
        4,
        strides=2,
        padding="same",
        kernel_initializer=_init(),
        name="head_conv",
    )(x)
    image = layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model(source, image, name="unet")


def build_patchgan(spec: gankit.ModelSpec, *, width: int = 64, depth: int | None = None) -> Any:
    """PatchGAN discriminator (pix2pix, CycleGAN): one logit per overlapping patch.

    Args:
        spec: the images (square, 8 to 256 pixels) and any condition images it sees
            beside them (pix2pix: the source).
        width: channels of the first layer (64 in the papers), doubled per layer to 8x.
        depth: stride-2 layers; default 3 (the 70x70 PatchGAN) from 64 px, 2 at 32 px,
            1 below.
    """
    import keras
    from keras import layers

    from gankit.nn import layers as fast

    side = _side(spec, 8, 256)
    width = _positive("width", width)
    if spec.num_classes or spec.rotation:
        raise ValueError(
            "patchgan has no class or rotation head (train it without --condition label and "
            "--rotation)"
        )
    depth = _positive(
        "depth", depth if depth is not None else max(1, min(3, int(math.log2(side)) - 3))
    )
    if side >> depth < 2:
        raise ValueError(f"`depth` {depth} leaves less than 2x2 patches of a {side}-pixel image")
    inputs = {"image": keras.Input(tuple(spec.image_shape), name="image")}
    inputs.update(
        {name: keras.Input(tuple(shape), name=name) for name, shape in spec.conditions.items()}
    )
    x = (
        layers.Concatenate(name="stack")(list(inputs.values()))
        if len(inputs) > 1
        else inputs["image"]
    )
    for i in range(depth + 1):
        stride = 2 if i < depth else 1
        conv = fast.Conv2D if stride == 2 else layers.Conv2D
        x = conv(
            width * min(2**i, 8),
            4,
            strides=stride,
            padding="same",
            kernel_initializer=_init(),
            name=f"c{i}_conv",
        )(x)
        x = x if i == 0 else instance_norm(f"c{i}_norm")(x)
        x = layers.LeakyReLU(0.2, name=f"c{i}_act")(x)
    logits = layers.Conv2D(1, 4, padding="same", kernel_initializer=_init(), name="patch_logits")(x)
    logits = layers.Activation("linear", dtype="float32", name="logits")(logits)
    return keras.Model(inputs, logits, name="patchgan")


@gankit.hookimpl
def register_generators(register: Any) -> None:
    register(
        "resnet-translator",
        build_resnet_translator,
        summary="ResNet translation generator (Johnson et al. 2016; CycleGAN, CUT)",
    )
    register("unet", build_unet, summary="pix2pix U-Net translation generator (Isola et al. 2017)")


@gankit.hookimpl
def register_discriminators(register: Any) -> None:
    register(
        "patchgan",
        build_patchgan,
        summary="PatchGAN discriminator (pix2pix, CycleGAN): a logit per patch",
    )
