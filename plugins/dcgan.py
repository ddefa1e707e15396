"""DCGAN generator and discriminator (Radford et al. 2015), unconditional and conditional.

At 32x32 with base width ``w`` the generator maps ``z`` through Dense to 4x4x4w,
BatchNorm, ReLU, then ConvTranspose(2w) + BN + ReLU, ConvTranspose(w) + BN + ReLU,
ConvTranspose(C) + tanh (kernel 4, stride 2). The discriminator mirrors it:
Conv(w) + LeakyReLU(0.2), Conv(2w) + BN + LeakyReLU, Conv(4w) + BN + LeakyReLU,
Flatten, Dense(1) logits. Each doubling of the image size adds one stage; by default
``w`` halves as the side doubles (64 at 32 pixels, 32 at 64, 16 at 128, 8 at 256), so
the widest layer has 256 filters at every size and each stage costs about the same.

Conditional variant (when the run has conditions such as ``content`` and ``style``):
by default (``conditioning="joint"``) the generator encodes the condition images
stacked on channels with one strided-conv encoder (the discriminator's stack), joins
the 4x4 code with the projected ``z``, and decodes with the transposed-conv stack,
with U-Net skips from the encoder at every scale and, at full resolution, the
conditions themselves beside the last features before a 3x3 convolution to the image:
the style reaches every output pixel, as in pix2pix's U-Net (Isola et al. 2017).
``conditioning="separate"`` keeps gankit 0.1's generator: one encoder per condition,
skips from the content's. The discriminator sees the image concatenated with the
conditions along channels.

Class-conditional variant (``--condition label``; ``spec.num_classes > 0``): the
generator's batch norms become conditional batch norms, ``gamma[c] * BN(x) + beta[c]``
(de Vries et al. 2017; Miyato & Koyama 2018), or with ``labels="concat"`` the label is
embedded and joined with ``z`` (the cGAN baseline); the discriminator adds a projection
of the label onto its features, ``logit = psi(h) + <embed(y), h>`` (Miyato & Koyama
2018), or with ``labels="acgan"`` an auxiliary classifier head (Odena et al. 2017). The
pieces are :mod:`gankit.nn.conditioning`'s.

Built for ``spec.rotation`` (``--rotation``), the
discriminator also returns ``rotation_logits``, a Dense(4) head on the flattened
features that guesses the quarter turn of its input (:mod:`gankit.nn.rotation`).

Reference: Radford, Metz, Chintala, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks", ICLR 2016.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import gankit
from gankit.conditions import LABEL
from gankit.nn import conditioning as cond
from gankit.nn.rotation import ROTATION_LOGITS, rotation_head

Conditioning = Literal["joint", "separate"]
GeneratorLabels = Literal["cbn", "concat"]
ToImage = Literal["auto", "transposed", "conv"]
DiscriminatorLabels = Literal["projection", "acgan"]


def _stages(spec: gankit.ModelSpec) -> int:
    height, width, _ = spec.image_shape
    n = int(math.log2(height)) - 2 if height > 0 else 0
    if height != width or height < 8 or 2 ** (n + 2) != height:
        raise ValueError(
            f"`image_shape` must be square with a power-of-two side >= 8, "
            f"received `{spec.image_shape}`."
        )
    for name, shape in spec.conditions.items():
        if tuple(shape[:2]) != (height, width):
            raise ValueError(
                f"condition `{name}` must have the image's size {height}x{width}, "
                f"received `{tuple(shape)}`."
            )
    return n


def _base_width(width: int | Literal["auto"], spec: gankit.ModelSpec) -> int:
    """``width``, or for ``"auto"`` ``2048 / side`` (64 at 32 pixels, 32 at 64, 16 at 128, 8
    at 256; from 8 to 64): each stage then costs about the same arithmetic and the widest
    layer has 256 filters at every size, so a step's cost grows with the number of
    stages, not with the pixel count."""
    if width == "auto":
        return max(8, min(64, 2048 // spec.image_shape[0]))
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"`width` must be a positive integer, received `{width}`.")
    return width


def build_dcgan_generator(
    spec: gankit.ModelSpec,
    *,
    width: int | Literal["auto"] = "auto",
    skips: bool = True,
    conditioning: Conditioning = "joint",
    labels: GeneratorLabels = "cbn",
    to_image: ToImage = "auto",
    layered: bool = False,
) -> Any:
    """DCGAN generator; conditional (encoder + U-Net skips) when the run has conditions.

    Args:
        spec: image shape, latent size and conditions to build for.
        width: base number of filters ``w`` (at half the image's side); the widest layer
            has ``w * 2**(stages-1)``. ``"auto"``: ``2048 / side``, clamped to [8, 64].
        skips: U-Net skip connections from the condition encoder (conditional only);
            with ``False`` the joint generator also leaves out the conditions' join at
            full resolution.
        conditioning: ``"joint"``: one encoder over the conditions stacked on channels,
            skips from it at every scale, and the conditions themselves beside the last
            features at full resolution, so the style reaches every pixel; ``"separate"``:
            one encoder per condition joined at 4x4, skips from the content's encoder
            only (gankit 0.1's generator).
        labels: how a class-conditional run's label enters: ``"cbn"``, conditional batch
            norm (each class its own BN gain and bias); ``"concat"``, embedded and joined
            with ``z``.
        to_image: the last stage. ``"transposed"``: DCGAN's 4x4 transposed convolution
            straight to the image's channels. ``"conv"``: a transposed convolution to
            ``w / 2`` features at full resolution (BN, ReLU), then a 3x3 convolution to
            the image; about 15% dearer a step. ``"auto"``: ``"conv"`` for an
            unconditional generator (no condition images, no classes), where its
            samples are more legible at equal time (docs/performance.md, "Legibility"),
            else ``"transposed"``. The joint conditional generator with skips always
            ends the ``"conv"`` way, its conditions beside those features.
        layered: end in three heads instead of one, a foreground ``f``, a background
            ``b`` and a one-channel mask ``m``, and output ``m * f + (1 - m) * b``
            (LR-GAN's composition, Yang et al. 2017): the mask draws a shape, the two
            layers its inside and outside. Free at this size (four more output
            channels). On unconditional mnist-cifar it gave 65% confident at 6000 steps
            in one run and 57% (level with the defaults) in another, both near 65% by
            12000 steps (docs/performance.md): an option, not the default.
    """
    import keras
    from keras import layers

    from gankit.nn import layers as fast

    n = _stages(spec)
    width = _base_width(width, spec)
    if conditioning not in ("joint", "separate"):
        raise ValueError(
            f"`conditioning` must be 'joint' or 'separate', received `{conditioning}`."
        )
    if labels not in ("cbn", "concat"):
        raise ValueError(f"`labels` must be 'cbn' or 'concat', received `{labels}`.")
    if to_image not in ("auto", "transposed", "conv"):
        raise ValueError(
            f"`to_image` must be 'auto', 'transposed' or 'conv', received `{to_image}`."
        )
    if to_image == "auto":
        to_image = "conv" if not (spec.conditions or spec.num_classes) else "transposed"
    if layered not in (True, False):
        raise ValueError(f"`layered` must be true or false, received `{layered}`.")
    init = keras.initializers.RandomNormal(0.0, 0.02)
    channels = spec.image_shape[2]

    z = keras.Input((spec.latent_dim,), name="z")
    inputs: dict[str, Any] = {"z": z}
    join, norm = cond.generator_labels(inputs, spec.num_classes, labels, fast.BatchNormalization)
    source = join(z)
    x = layers.Dense(4 * 4 * width * 2 ** (n - 1), use_bias=False, kernel_initializer=init)(source)
    x = layers.Reshape((4, 4, width * 2 ** (n - 1)))(x)
    x = layers.ReLU()(norm(x))
    inputs.update(
        {name: keras.Input(tuple(shape), name=name) for name, shape in spec.conditions.items()}
    )
    conditions = [inputs[name] for name in spec.conditions]
    skip_maps: dict[int, Any] = {}
    stacked = None
    if conditions and conditioning == "joint":
        stacked = (
            layers.Concatenate(name="stack_conditions")(conditions)
            if len(conditions) > 1
            else conditions[0]
        )
        features = _conv_stack(stacked, n, width, init, prefix="cond_enc")
        x = layers.Concatenate(name="join_codes")([x, features[-1]])
        skip_maps = {f.shape[1]: f for f in features[:-1]} if skips else {}
    elif conditions:
        skip_source = "content" if "content" in spec.conditions else next(iter(spec.conditions))
        codes = [x]
        for name in spec.conditions:
            features = _conv_stack(inputs[name], n, width, init, prefix=f"{name}_enc")
            codes.append(features[-1])
            if name == skip_source and skips:
                skip_maps = {f.shape[1]: f for f in features[:-1]}
        x = layers.Concatenate(name="join_codes")(codes)

    for i in range(n - 1):
        x = fast.Conv2DTranspose(
            width * 2 ** (n - 2 - i),
            4,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=init,
        )(x)
        x = layers.ReLU()(norm(x))
        if x.shape[1] in skip_maps:
            x = layers.Concatenate(name=f"skip_{x.shape[1]}")([x, skip_maps[x.shape[1]]])
    beside = stacked if stacked is not None and skips else None
    if to_image == "transposed" and beside is None:

        def head(filters: int, name: str, initializer: Any = init) -> Any:
            return fast.Conv2DTranspose(
                filters, 4, strides=2, padding="same", kernel_initializer=initializer, name=name
            )
    else:  # features at full resolution (beside the conditions), then a 3x3 conv to the image
        x = fast.Conv2DTranspose(
            max(width // 2, 1),
            4,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=init,
        )(x)
        x = layers.ReLU()(norm(x))
        if beside is not None:
            x = layers.Concatenate(name=f"skip_{x.shape[1]}")([x, beside])

        def head(filters: int, name: str, initializer: Any = init) -> Any:
            return layers.Conv2D(
                filters, 3, padding="same", kernel_initializer=initializer, name=name
            )

    if layered:
        x = _layered_composite(x, head, channels)
    else:
        x = head(channels, "to_image")(x)
    images = layers.Activation("linear" if layered else "tanh", dtype="float32", name="images")(x)
    name = (
        "dcgan_generator"
        if not (spec.conditions or spec.num_classes)
        else "dcgan_conditional_generator"
    )
    return keras.Model(inputs, images, name=name)


def _layered_composite(x: Any, head: Any, channels: int) -> Any:
    """``m * f + (1 - m) * b`` from three heads on the same features: foreground ``f``
    and background ``b`` (tanh) and a one-channel mask ``m`` (sigmoid), as LR-GAN composes
    a foreground onto a background (Yang et al. 2017). Keras layers only, so an exported
    generator loads with Keras alone."""
    import keras
    from keras import layers

    def own(filters: int, name: str) -> Any:
        # Keras 3 fixes an unseeded initializer's seed when it is made: a shared instance
        # gives every layer of a shape the same weights, so the two image heads would start
        # equal (and the mask get no gradient).
        return head(filters, name, keras.initializers.RandomNormal(0.0, 0.02))(x)

    fore = layers.Activation("tanh", name="foreground")(own(channels, "to_foreground"))
    back = layers.Activation("tanh", name="background")(own(channels, "to_background"))
    mask = layers.Activation("sigmoid", name="mask")(own(1, "to_mask"))
    # b + m * (f - b): the mask's one channel broadcast over the image's
    return layers.Add(name="composite")(
        [back, layers.Multiply()([mask, layers.Subtract()([fore, back])])]
    )


def build_dcgan_discriminator(
    spec: gankit.ModelSpec,
    *,
    width: int | Literal["auto"] = "auto",
    spectral_norm: bool = False,
    batch_norm: bool = True,
    labels: DiscriminatorLabels = "projection",
) -> Any:
    """DCGAN discriminator returning logits; sees image and conditions stacked on channels.

    Args:
        spec: image shape and conditions to build for.
        width: base number of filters ``w``; ``"auto"``: ``2048 / side``, clamped to [8, 64].
        spectral_norm: wrap every conv and the dense layer in Keras 3
            ``SpectralNormalization`` (Miyato et al. 2018).
        batch_norm: BatchNorm after every conv but the first (as in DCGAN).
        labels: how a class-conditional run's label enters: ``"projection"``,
            ``logit = psi(h) + <embed(y), h>`` on the flattened features ``h``;
            ``"acgan"``, an auxiliary classifier head (the model then returns
            ``{"logits", "class_logits"}`` and the trainer adds its cross-entropy).

    With ``spec.rotation`` the output is a mapping with ``rotation_logits`` as well
    (``gankit.nn.rotation``).
    """
    import keras
    from keras import layers

    n = _stages(spec)
    width = _base_width(width, spec)
    if labels not in ("projection", "acgan"):
        raise ValueError(f"`labels` must be 'projection' or 'acgan', received `{labels}`.")
    init = keras.initializers.RandomNormal(0.0, 0.02)
    image = keras.Input(tuple(spec.image_shape), name="image")
    inputs: dict[str, Any] = {"image": image}
    x = image
    if spec.conditions:
        for name, shape in spec.conditions.items():
            inputs[name] = keras.Input(tuple(shape), name=name)
        x = layers.Concatenate(name="stack_conditions")([image, *list(inputs.values())[1:]])
    label = cond.label_input() if spec.num_classes else None
    if label is not None:
        inputs[LABEL] = label
    features = _conv_stack(
        x, n, width, init, prefix="disc", spectral_norm=spectral_norm, batch_norm=batch_norm
    )
    x = layers.Flatten()(features[-1])
    dense = layers.Dense(1, kernel_initializer=init, dtype="float32", name="logits")
    if spectral_norm:
        dense = layers.SpectralNormalization(dense, dtype="float32", name="sn_logits")
    logits = dense(x)
    outputs: dict[str, Any] = {}
    if label is not None and labels == "acgan":
        outputs[cond.CLASS_LOGITS] = cond.class_logits(
            x, spec.num_classes, spectral_norm=spectral_norm
        )
    elif label is not None:
        logits = cond.projection(x, label, logits, spec.num_classes)
    if spec.rotation:
        outputs[ROTATION_LOGITS] = rotation_head(x, spectral_norm=spectral_norm)
    return keras.Model(
        inputs, {"logits": logits, **outputs} if outputs else logits, name="dcgan_discriminator"
    )


def _conv_stack(
    x: Any,
    n: int,
    width: int,
    init: Any,
    *,
    prefix: str,
    spectral_norm: bool = False,
    batch_norm: bool = True,
) -> list[Any]:
    """``n`` stride-2 convs (w, 2w, ...), LeakyReLU(0.2), BN after the first; all outputs."""
    from keras import layers

    from gankit.nn import layers as fast

    outputs = []
    for i in range(n):
        conv = fast.Conv2D(
            width * 2**i,
            4,
            strides=2,
            padding="same",
            use_bias=(i == 0 or not batch_norm),
            kernel_initializer=init,
            name=f"{prefix}_conv{i}",
        )
        if spectral_norm:
            conv = layers.SpectralNormalization(conv, name=f"{prefix}_sn{i}")
        x = conv(x)
        if i > 0 and batch_norm:
            x = fast.BatchNormalization(name=f"{prefix}_bn{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"{prefix}_lrelu{i}")(x)
        outputs.append(x)
    return outputs


@gankit.hookimpl
def register_generators(register):
    register("dcgan", build_dcgan_generator, summary="DCGAN generator (Radford et al. 2015)")


@gankit.hookimpl
def register_discriminators(register):
    register(
        "dcgan", build_dcgan_discriminator, summary="DCGAN discriminator (Radford et al. 2015)"
    )
