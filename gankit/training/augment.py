"""DiffAugment: differentiable augmentation of everything the discriminator sees.

Zhao, Liu, Lin, Zhu & Han, "Differentiable Augmentation for Data-Efficient GAN
Training", NeurIPS 2020. Each transform is random per example and differentiable in
the images, so the generator's gradient flows through it; the same transforms apply
to real and fake images alike, in every discriminator call of a training step (its
update, the generator's update and any gradient penalty).

- ``translation``: shift by up to 1/8 of the side in each direction, zero padding;
- ``color``: brightness ±0.5, saturation ×[0, 2], contrast ×[0.5, 1.5];
- ``cutout``: zero a square of half the side at a random position.

On a conditional run the geometric transforms (translation, cutout) move the image
and its spatial conditions together, so they stay aligned; colour changes only the
image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["augment", "AugmentedDiscriminator"]


def augment(inputs: Mapping[str, Any], policy: Sequence[str]) -> dict[str, Any]:
    """``inputs`` (``image`` and spatial conditions, ``(B, H, W, C)``) with ``policy``'s
    transforms applied, per example; float32 out."""
    import tensorflow as tf

    names = list(inputs)
    images = {k: tf.cast(v, tf.float32) for k, v in inputs.items()}
    if "color" in policy:
        images["image"] = _color(images["image"])
    spatial = [k for k in names if images[k].shape.rank == 4]
    if spatial and ("translation" in policy or "cutout" in policy):
        stacked = tf.concat([images[k] for k in spatial], axis=-1)
        if "translation" in policy:
            stacked = _translation(stacked)
        if "cutout" in policy:
            stacked = _cutout(stacked)
        parts = tf.split(stacked, [images[k].shape[-1] for k in spatial], axis=-1)
        images.update(zip(spatial, parts))
    return images


def _color(x: Any) -> Any:
    import tensorflow as tf

    batch = tf.shape(x)[0]
    x = x + (tf.random.uniform([batch, 1, 1, 1]) - 0.5)
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    x = (x - mean) * (tf.random.uniform([batch, 1, 1, 1]) * 2.0) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * (tf.random.uniform([batch, 1, 1, 1]) + 0.5) + mean


def _translation(x: Any, ratio: float = 0.125) -> Any:
    """Shift each example by whole pixels, up to ``ratio`` of its side, zero-filled."""
    import tensorflow as tf

    batch, height, width = tf.shape(x)[0], x.shape[1], x.shape[2]
    pad_h, pad_w = max(int(height * ratio + 0.5), 1), max(int(width * ratio + 0.5), 1)
    shift_y = tf.random.uniform([batch, 1], -pad_h, pad_h + 1, dtype=tf.int32)
    shift_x = tf.random.uniform([batch, 1], -pad_w, pad_w + 1, dtype=tf.int32)
    padded = tf.pad(x, [[0, 0], [pad_h, pad_h], [pad_w, pad_w], [0, 0]])
    rows = tf.range(height)[None, :] + pad_h - shift_y  # [B, H]: source row of each row
    cols = tf.range(width)[None, :] + pad_w - shift_x
    x = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(x, cols, axis=2, batch_dims=1)


def _cutout(x: Any, ratio: float = 0.5) -> Any:
    """Zero a square of ``ratio`` of the side per example; its centre is anywhere in the
    image, so the square may be cut by the border."""
    import tensorflow as tf

    batch, height, width = tf.shape(x)[0], x.shape[1], x.shape[2]
    size_h, size_w = int(height * ratio + 0.5), int(width * ratio + 0.5)
    top = tf.random.uniform([batch, 1, 1], 0, height, dtype=tf.int32) - size_h // 2
    left = tf.random.uniform([batch, 1, 1], 0, width, dtype=tf.int32) - size_w // 2
    ys = tf.range(height)[None, :, None]
    xs = tf.range(width)[None, None, :]
    inside = (ys >= top) & (ys < top + size_h) & (xs >= left) & (xs < left + size_w)
    return x * tf.cast(~inside, x.dtype)[..., None]


class AugmentedDiscriminator:
    """The discriminator with DiffAugment in front: call it like the model; every other
    attribute (``trainable_variables``, ...) is the model's."""

    def __init__(self, discriminator: Any, policy: Sequence[str]) -> None:
        self.discriminator, self.policy = discriminator, tuple(policy)

    def __call__(self, inputs: Mapping[str, Any], training: Any = None, **kwargs: Any) -> Any:
        return self.discriminator(augment(inputs, self.policy), training=training, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.discriminator, name)
