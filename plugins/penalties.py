"""Discriminator penalties that compose with any loss (``--penalty NAME``).

``r1``: the zero-centred gradient penalty on real images (Mescheder et al. 2018),
``(gamma / 2) E_x[||grad_x D(x)||^2]``, as StyleGAN2 uses it: lazily, every ``every``
steps with its weight multiplied by ``every`` (the trainer does that for any penalty
with an ``every`` attribute).
"""

from __future__ import annotations

from typing import Any

import gankit


def r1_penalty(discriminator: Any, real_images: Any, conditions: Any) -> Any:
    """``E_x[||grad_x D(x)||^2]`` over the real images (with their conditions), unweighted.

    Reference: Mescheder, Geiger & Nowozin, "Which Training Methods for GANs do
    actually Converge?", ICML 2018.
    """
    import tensorflow as tf

    real = tf.cast(real_images, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(real)
        logits = tf.cast(discriminator({"image": real, **conditions}, training=True), tf.float32)
    grads = tf.cast(
        tape.gradient(logits, real), tf.float32
    )  # of the logits summed: each example its own
    return tf.reduce_mean(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))


class R1Penalty:
    """``weight / 2 * E[||grad D(x)||^2]`` on real images, every ``every`` steps."""

    def __init__(self, weight: float, every: int) -> None:
        if weight < 0:
            raise ValueError(f"`weight` must be >= 0, received `{weight}`.")
        if every < 1:
            raise ValueError(f"`every` must be a positive integer, received `{every}`.")
        self.weight, self.every = weight, every

    def penalty(self, ctx: gankit.LossContext) -> Any:
        return 0.5 * self.weight * r1_penalty(ctx.discriminator, ctx.real_images, ctx.conditions)


def build_r1_penalty(*, weight: float = 1.0, every: int = 16) -> R1Penalty:
    """R1 gradient penalty on reals (Mescheder et al. 2018), lazy as in StyleGAN2.

    Args:
        weight: gamma, the penalty's weight (the term is gamma / 2 times the squared norm).
        every: apply it every N steps, weighted by N (StyleGAN2's lazy regularisation;
            1 applies it at every step).
    """
    return R1Penalty(weight, every)


@gankit.hookimpl
def register_penalties(register: Any) -> None:
    register("r1", build_r1_penalty)
