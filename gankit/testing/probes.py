"""A discriminator whose input gradient is known, for the kit's loss and penalty checks."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ProbeDiscriminator"]


class ProbeDiscriminator:
    """``D(x) = <w, x>``: its input gradient is ``w`` everywhere, so its gradient norm is
    known; it ignores conditions. ``make(steep)`` gives one whose logits on images with
    pixel 0 equal to zero are the same, with a larger gradient norm."""

    def __init__(self, shape: tuple[int, ...], seed: int) -> None:
        w = np.random.default_rng(seed).standard_normal(int(np.prod(shape)))
        w[0] = 0.0
        self.w = (2.0 * w / np.linalg.norm(w)).astype(np.float32)  # gradient norm 2

    def make(self, steep: bool = False) -> Any:
        import keras

        w = self.w.copy()
        if steep:
            w[0] = 4.0  # norm sqrt(4 + 16): larger, and invisible on images whose pixel 0 is 0
        weights = keras.ops.convert_to_tensor(w[:, None])

        class Probe(keras.Model):
            def call(self, inputs: Any, training: Any = None) -> Any:
                x = keras.ops.cast(inputs["image"], "float32")
                return keras.ops.matmul(keras.ops.reshape(x, (keras.ops.shape(x)[0], -1)), weights)

        return Probe()
