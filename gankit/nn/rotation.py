"""Rotation self-supervision for the discriminator (``--rotation``; SS-GAN, Chen et al. 2019).

A discriminator built for ``ModelSpec.rotation`` returns ``{"logits": (B, 1),
"rotation_logits": (B, 4)}``: besides telling real from fake, it says which of the four
quarter turns (0, 90, 180, 270 degrees) its input was given. The trainer turns a
quarter of each batch by each angle (:func:`rotate_quarters`; condition images turn
with the image) and adds the cross-entropy of that 4-way guess: with weight ``w`` on
the real images to the discriminator's loss, and with ``w * GENERATOR_SHARE`` on the
fakes to the generator's (the paper's beta = 1, alpha = 0.2). The discriminator learns
what an upright digit looks like from the real images alone, and the generator is
pushed to draw things whose orientation can be told.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ROTATION_LOGITS", "TURNS", "GENERATOR_SHARE", "rotation_head", "rotate_quarters"]

ROTATION_LOGITS = "rotation_logits"  # the discriminator's rotation output, by this name
TURNS = 4
GENERATOR_SHARE = 0.2  # the generator's weight on its fakes' rotation term, relative to D's


def rotation_head(
    features: Any, *, spectral_norm: bool = False, name: str = ROTATION_LOGITS
) -> Any:
    """``(B, 4)`` float32 logits of the quarter turn, a Dense layer on the flat features."""
    import keras
    from keras import layers

    dense = layers.Dense(
        TURNS,
        kernel_initializer=keras.initializers.RandomNormal(0.0, 0.02),
        dtype="float32",
        name=name,
    )
    if spectral_norm:
        dense = layers.SpectralNormalization(dense, dtype="float32", name=f"sn_{name}")
    return dense(features)


def rotate_quarters(image: Any, conditions: Mapping[str, Any]) -> tuple[Any, dict[str, Any], Any]:
    """The batch's ``k``-th quarter turned by ``k`` quarter turns, image and condition
    images alike (other conditions, e.g. a label, kept with their rows); returns
    ``(images, conditions, turns)``, ``turns`` int32 ``(4 * (B // 4),)``. The last
    ``B mod 4`` rows are left out. Images must be square."""
    import tensorflow as tf

    quarter = tf.shape(image)[0] // TURNS

    def turn(x: Any) -> Any:
        pieces = [x[k * quarter : (k + 1) * quarter] for k in range(TURNS)]
        if len(x.shape) == 4:
            pieces = [tf.image.rot90(p, k) for k, p in enumerate(pieces)]
        return tf.concat(pieces, 0)

    turns = tf.repeat(tf.range(TURNS, dtype=tf.int32), quarter)
    return turn(image), {name: turn(value) for name, value in conditions.items()}, turns
