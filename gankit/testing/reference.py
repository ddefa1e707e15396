"""The contract kit's reference networks: small models the kit builds the other roles
with when it checks a loss, a penalty or a scheme."""

from __future__ import annotations

from typing import Any

from gankit.conditions import SOURCE
from gankit.types import ModelSpec

__all__ = ["reference_generator", "reference_discriminator"]


def reference_generator(spec: ModelSpec, *, width: int = 8) -> Any:
    """A small DCGAN-style generator: (z, conditions) → images in [-1, 1], float32 out;
    for ``spec.translation`` a small encoder-decoder from the ``source`` image, its
    encoder's layers named ``encoder_0`` to ``encoder_4``."""
    import keras
    from keras import layers

    if spec.translation:
        return _reference_translator(spec, width)
    h, w, channels = spec.image_shape
    inputs = {"z": keras.Input((spec.latent_dim,), name="z")}
    parts = [inputs["z"]]
    for name, shape in spec.conditions.items():
        inputs[name] = keras.Input(shape, name=name)
        parts.append(layers.Flatten()(layers.AveragePooling2D(4)(inputs[name])))
    x = layers.Concatenate()(parts) if len(parts) > 1 else parts[0]
    x = layers.Reshape((h // 4, w // 4, width))(layers.Dense((h // 4) * (w // 4) * width)(x))
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Conv2DTranspose(width, 4, strides=2, padding="same")(x)
    x = layers.Conv2DTranspose(channels, 4, strides=2, padding="same")(layers.ReLU()(x))
    return keras.Model(inputs, layers.Activation("tanh", dtype="float32")(x))


def _reference_translator(spec: ModelSpec, width: int) -> Any:
    import keras
    from keras import layers

    source = keras.Input(tuple(spec.conditions[SOURCE]), name=SOURCE)
    x = layers.Identity(name="encoder_0")(source)
    x = layers.Conv2D(width, 3, padding="same", activation="relu", name="encoder_1")(x)
    x = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu", name="encoder_2")(x)
    x = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu", name="encoder_3")(x)
    x = layers.Conv2D(width, 3, padding="same", activation="relu", name="encoder_4")(x)
    x = layers.Conv2DTranspose(width, 4, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(spec.image_shape[2], 4, strides=2, padding="same")(x)
    return keras.Model(source, layers.Activation("tanh", dtype="float32")(x))


def reference_discriminator(spec: ModelSpec, *, width: int = 8) -> Any:
    """A small DCGAN-style discriminator: image (+ conditions on channels) → float32 logits."""
    import keras
    from keras import layers

    inputs = {"image": keras.Input(spec.image_shape, name="image")}
    for name, shape in spec.conditions.items():
        inputs[name] = keras.Input(shape, name=name)
    x = layers.Concatenate()(list(inputs.values())) if len(inputs) > 1 else inputs["image"]
    x = layers.LeakyReLU(0.2)(layers.Conv2D(width, 4, strides=2, padding="same")(x))
    x = layers.LeakyReLU(0.2)(layers.Conv2D(width * 2, 4, strides=2, padding="same")(x))
    return keras.Model(inputs, layers.Dense(1, dtype="float32")(layers.Flatten()(x)))
