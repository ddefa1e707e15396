"""SNGAN for gankit: the ResNet generator and discriminator of Miyato et al. (2018),
"Spectral Normalization for Generative Adversarial Networks", and the paper's recipe.

- generator ``sngan``: z → 4x4 → one up-sampling residual block per doubling → BN,
  ReLU, 3x3 conv, tanh (the paper's CIFAR-10 network has 3 blocks for 32x32).
- discriminator ``sngan``: an "optimised" first residual block, down-sampling residual
  blocks to 8x8, two plain residual blocks, ReLU, global sum pooling, linear; every
  convolution and the linear layer spectrally normalised
  (``keras.layers.SpectralNormalization``, Keras 3 core: no tensorflow-addons).
- loss ``sngan``: gankit's built-in ``hinge`` loss (built with ``gankit.create``, not
  copied), declaring the paper's training settings: Adam lr 2e-4, betas (0, 0.9), five
  discriminator steps per generator step (setting "C" of the paper's CIFAR-10 runs).

Conditional runs work too: the generator encodes each condition image down to 4x4 and
concatenates it with the projected noise; the discriminator stacks the conditions on
the image's channels.
"""

from __future__ import annotations

import math
from typing import Any

import gankit

__version__ = "0.1.0"


# === Generator ===

def _up_block(x: Any, channels: int) -> Any:
    from keras import layers

    shortcut = layers.Conv2D(channels, 1)(layers.UpSampling2D(2)(x))
    h = layers.ReLU()(layers.BatchNormalization()(x))
    h = layers.Conv2D(channels, 3, padding="same")(layers.UpSampling2D(2)(h))
    h = layers.ReLU()(layers.BatchNormalization()(h))
    h = layers.Conv2D(channels, 3, padding="same")(h)
    return layers.Add()([h, shortcut])


def _doublings(spec: gankit.ModelSpec) -> int:
    h, w, _ = spec.image_shape
    doublings = math.log2(h / 4) if h == w else -1
    if doublings != int(doublings) or doublings < 1:
        raise ValueError(f"sngan needs square images of side 4 * 2^k (k >= 1), got {spec.image_shape}")
    return int(doublings)


def build_sngan_generator(spec: gankit.ModelSpec, *, width: int = 128) -> Any:
    """SNGAN ResNet generator (Miyato et al. 2018)."""
    import keras
    from keras import layers

    doublings = _doublings(spec)
    inputs = {"z": keras.Input((spec.latent_dim,), name="z")}
    x = layers.Reshape((4, 4, width))(layers.Dense(4 * 4 * width)(inputs["z"]))
    parts = [x]
    for name, shape in spec.conditions.items():
        inputs[name] = keras.Input(shape, name=name)
        c = inputs[name]
        for _ in range(int(math.log2(shape[0] // 4))):
            c = layers.LeakyReLU(0.2)(layers.Conv2D(width // 2, 4, strides=2, padding="same")(c))
        parts.append(c)
    if len(parts) > 1:
        x = layers.Conv2D(width, 1)(layers.Concatenate()(parts))
    for _ in range(doublings):
        x = _up_block(x, width)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Conv2D(spec.image_shape[-1], 3, padding="same")(x)
    images = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(inputs, images, name="sngan_generator")


# === Discriminator ===

def _sn(layer: Any) -> Any:
    from keras import layers

    return layers.SpectralNormalization(layer)


def _down_block(x: Any, channels: int, *, first: bool = False, downsample: bool = True) -> Any:
    from keras import layers

    if first:  # the "optimised" block: no ReLU before the first convolution
        h = _sn(layers.Conv2D(channels, 3, padding="same"))(x)
        h = _sn(layers.Conv2D(channels, 3, padding="same"))(layers.ReLU()(h))
        h = layers.AveragePooling2D(2)(h)
        shortcut = _sn(layers.Conv2D(channels, 1))(layers.AveragePooling2D(2)(x))
        return layers.Add()([h, shortcut])
    h = _sn(layers.Conv2D(channels, 3, padding="same"))(layers.ReLU()(x))
    h = _sn(layers.Conv2D(channels, 3, padding="same"))(layers.ReLU()(h))
    shortcut = x
    if downsample:
        h = layers.AveragePooling2D(2)(h)
        shortcut = layers.AveragePooling2D(2)(_sn(layers.Conv2D(channels, 1))(x))
    return layers.Add()([h, shortcut])


def build_sngan_discriminator(spec: gankit.ModelSpec, *, width: int = 128) -> Any:
    """SNGAN ResNet discriminator with spectral normalisation (Miyato et al. 2018)."""
    import keras
    from keras import layers

    doublings = _doublings(spec)
    inputs = {"image": keras.Input(spec.image_shape, name="image")}
    for name, shape in spec.conditions.items():
        if tuple(shape[:2]) != tuple(spec.image_shape[:2]):
            raise ValueError(f"condition {name!r} {shape} must have the image's height and width")
        inputs[name] = keras.Input(shape, name=name)
    x = layers.Concatenate()(list(inputs.values())) if len(inputs) > 1 else inputs["image"]
    x = _down_block(x, width, first=True)
    for _ in range(doublings - 2):  # down to 8x8
        x = _down_block(x, width)
    x = _down_block(x, width, downsample=False)
    x = _down_block(x, width, downsample=False)
    x = layers.ReLU()(x)
    side = spec.image_shape[0] // 2 ** (doublings - 1)
    x = layers.Rescaling(float(side * side))(layers.GlobalAveragePooling2D()(x))  # global sum pooling
    logits = _sn(layers.Dense(1))(x)
    logits = layers.Activation("linear", dtype="float32", name="logits")(logits)
    return keras.Model(inputs, logits, name="sngan_discriminator")


# === The paper's training recipe, on gankit's hinge loss ===

SNGAN_TRAINING = gankit.TrainingDefaults(lr_g=2e-4, lr_d=2e-4, beta1=0.0, beta2=0.9, d_steps=5)


def build_sngan_loss() -> Any:
    """Hinge loss with SNGAN's training settings (Miyato et al. 2018)."""
    return gankit.create("losses", "hinge")


# === Registration ===

@gankit.hookimpl
def register_generators(register: Any) -> None:
    register("sngan", build_sngan_generator)


@gankit.hookimpl
def register_discriminators(register: Any) -> None:
    register("sngan", build_sngan_discriminator)


@gankit.hookimpl
def register_losses(register: Any) -> None:
    register("sngan", build_sngan_loss, training=SNGAN_TRAINING)
