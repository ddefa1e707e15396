"""The SNGAN ResNet generator and discriminator (Miyato et al. 2018), unconditional or
class-conditional (Miyato & Koyama 2018), at 32 to 128 pixels.

- generator: ``z`` (Dense) to 4x4, then one up-sampling residual block per doubling —
  ``BN, ReLU, upsample x2, conv3x3, BN, ReLU, conv3x3`` beside the shortcut
  ``upsample x2, conv1x1`` — then ``BN, ReLU, conv3x3, tanh``. On a label-conditional
  run every batch norm is conditional (``gamma[c] * BN(x) + beta[c]``), or with
  ``labels="concat"`` the label is embedded and joined with ``z``.
- discriminator: the "optimised" first block (``conv3x3, ReLU, conv3x3, avgpool``
  beside ``avgpool, conv1x1``), down-sampling residual blocks to 8x8, two residual
  blocks without down-sampling, ReLU, **global sum pooling**, a linear logit;
  spectral norm (``keras.layers.SpectralNormalization``) on every convolution and
  dense layer. Label-conditional: ``logit = psi(h) + <embed(y), h>`` on the pooled
  features (projection), or an auxiliary classifier head (``labels="acgan"``); built
  for ``spec.rotation`` (``--rotation``) a rotation head on them too
  (``gankit.nn.rotation``).

Channels: ``width`` at 32 pixels (the paper's CIFAR-10 networks have 256 in G and 128 in
D; the default 64 keeps a CPU step affordable), doubled towards the 4x4 end for each
doubling above 32 pixels. The discriminator declares the paper's training settings:
the hinge loss, Adam lr 2e-4 and betas (0, 0.9), five discriminator steps per generator
step (setting "C" of its CIFAR-10 runs); a run's flags or ``--loss`` override them.

References: Miyato, Kataoka, Koyama, Yoshida, "Spectral Normalization for Generative
Adversarial Networks", ICLR 2018; Miyato & Koyama, "cGANs with Projection
Discriminator", ICLR 2018.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import gankit
from gankit.conditions import LABEL
from gankit.nn import conditioning as cond
from gankit.nn.rotation import ROTATION_LOGITS, rotation_head

SNGAN_TRAINING = gankit.TrainingDefaults(
    lr_g=2e-4, lr_d=2e-4, beta1=0.0, beta2=0.9, d_steps=5, loss="hinge"
)


def _blocks(spec: gankit.ModelSpec) -> int:
    height, width, _ = spec.image_shape
    blocks = math.log2(height / 4) if height == width and height > 0 else -1
    if blocks != int(blocks) or not 3 <= blocks <= 5:
        raise ValueError(
            f"`image_shape` must be square with side 32, 64 or 128, received `{spec.image_shape}`."
        )
    if spec.conditions:
        raise ValueError(
            "the resnet models take no condition images (only `--condition label` or none)"
        )
    return int(blocks)


def _channels(width: int, blocks: int, i: int) -> int:
    """Channels of up-block ``i`` (0 at 4x4): ``width``, doubled for each doubling above
    32 pixels towards the 4x4 end."""
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"`width` must be a positive integer, received `{width}`.")
    return width * 2 ** max(0, blocks - 3 - i)


def build_resnet_generator(
    spec: gankit.ModelSpec, *, width: int = 64, labels: Literal["cbn", "concat"] = "cbn"
) -> Any:
    """SNGAN ResNet generator (Miyato et al. 2018); conditional batch norm on labels.

    Args:
        spec: image shape (32, 64 or 128 pixels, square), latent size, classes.
        width: channels at 32 pixels (the paper: 256).
        labels: ``"cbn"``, conditional batch norm (Miyato & Koyama 2018), or
            ``"concat"``, the label embedded and joined with ``z``.
    """
    import keras
    from keras import layers

    from gankit.nn import layers as fast

    blocks = _blocks(spec)
    if labels not in ("cbn", "concat"):
        raise ValueError(f"`labels` must be 'cbn' or 'concat', received `{labels}`.")
    inputs: dict[str, Any] = {"z": keras.Input((spec.latent_dim,), name="z")}
    join, norm = cond.generator_labels(inputs, spec.num_classes, labels, fast.BatchNormalization)
    z = join(inputs["z"])
    first = _channels(width, blocks, 0)
    x = layers.Reshape((4, 4, first))(layers.Dense(4 * 4 * first, name="from_z")(z))
    for i in range(blocks):
        channels = _channels(width, blocks, i)
        shortcut = layers.Conv2D(channels, 1, name=f"up{i}_shortcut")(layers.UpSampling2D(2)(x))
        h = layers.UpSampling2D(2)(layers.ReLU()(norm(x)))
        h = layers.Conv2D(channels, 3, padding="same", name=f"up{i}_conv1")(h)
        h = layers.Conv2D(channels, 3, padding="same", name=f"up{i}_conv2")(layers.ReLU()(norm(h)))
        x = layers.Add(name=f"up{i}")([h, shortcut])
    x = layers.Conv2D(spec.image_shape[-1], 3, padding="same", name="to_image")(
        layers.ReLU()(norm(x))
    )
    images = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(inputs, images, name="resnet_generator")


def _sn(layer: Any) -> Any:
    from keras import layers

    return layers.SpectralNormalization(layer, name=f"sn_{layer.name}")


def _down_block(
    x: Any, channels: int, name: str, *, first: bool = False, downsample: bool = True
) -> Any:
    from keras import layers

    h = x if first else layers.ReLU()(x)  # the optimised first block: no ReLU on the image
    h = _sn(layers.Conv2D(channels, 3, padding="same", name=f"{name}_conv1"))(h)
    h = _sn(layers.Conv2D(channels, 3, padding="same", name=f"{name}_conv2"))(layers.ReLU()(h))
    shortcut = x
    if first:
        shortcut = _sn(layers.Conv2D(channels, 1, name=f"{name}_shortcut"))(
            layers.AveragePooling2D(2)(x)
        )
    elif downsample or x.shape[-1] != channels:
        shortcut = _sn(layers.Conv2D(channels, 1, name=f"{name}_shortcut"))(x)
        shortcut = layers.AveragePooling2D(2)(shortcut) if downsample else shortcut
    if downsample:
        h = layers.AveragePooling2D(2)(h)
    return layers.Add(name=name)([h, shortcut])


def build_resnet_discriminator(
    spec: gankit.ModelSpec,
    *,
    width: int = 64,
    labels: Literal["projection", "acgan"] = "projection",
) -> Any:
    """SNGAN ResNet discriminator, spectral norm, global sum pooling; projection on labels.

    Args:
        spec: image shape (32, 64 or 128 pixels, square) and classes.
        width: channels at 32 pixels (the paper: 128).
        labels: ``"projection"``, ``logit = psi(h) + <embed(y), h>`` on the pooled
            features (Miyato & Koyama 2018), or ``"acgan"``, an auxiliary classifier
            head (Odena et al. 2017).
    """
    import keras
    from keras import layers

    blocks = _blocks(spec)
    if labels not in ("projection", "acgan"):
        raise ValueError(f"`labels` must be 'projection' or 'acgan', received `{labels}`.")
    inputs: dict[str, Any] = {"image": keras.Input(tuple(spec.image_shape), name="image")}
    label = cond.label_input() if spec.num_classes else None
    if label is not None:
        inputs[LABEL] = label
    x = inputs["image"]
    for i in range(blocks - 1):  # down to 8x8
        x = _down_block(x, _channels(width, blocks, blocks - 1 - i), f"down{i}", first=i == 0)
    x = _down_block(x, width, "res0", downsample=False)
    x = _down_block(x, width, "res1", downsample=False)
    x = layers.ReLU()(x)
    side = int(x.shape[1])
    h = layers.Rescaling(float(side * side), name="global_sum")(layers.GlobalAveragePooling2D()(x))
    logits = layers.Activation("linear", dtype="float32", name="logits")(
        _sn(layers.Dense(1, name="psi"))(h)
    )
    outputs: dict[str, Any] = {}
    if label is not None and labels == "acgan":
        outputs[cond.CLASS_LOGITS] = cond.class_logits(h, spec.num_classes, spectral_norm=True)
    elif label is not None:
        logits = cond.projection(h, label, logits, spec.num_classes)
    if spec.rotation:
        outputs[ROTATION_LOGITS] = rotation_head(h, spectral_norm=True)
    return keras.Model(
        inputs, {"logits": logits, **outputs} if outputs else logits, name="resnet_discriminator"
    )


@gankit.hookimpl
def register_generators(register: Any) -> None:
    register(
        "resnet",
        build_resnet_generator,
        summary="SNGAN ResNet generator (Miyato et al. 2018), conditional BN",
    )


@gankit.hookimpl
def register_discriminators(register: Any) -> None:
    register(
        "resnet",
        build_resnet_discriminator,
        training=SNGAN_TRAINING,
        summary="SNGAN ResNet discriminator (Miyato et al. 2018), spectral norm, projection",
    )
