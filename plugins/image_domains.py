"""Two folders of pictures as a translation dataset: ``image-folder`` with
``-o dataset.layout=unpaired|paired|side-by-side`` (or CycleGAN's ``trainA/ trainB/``
found in ``path``), read by :func:`gankit.data.open_domains`.

Each example is ``{"image": a picture of domain B, "source": one of domain A}``: the
translation schemes map ``source`` to ``image`` (A to B) and back. Unpaired, the two
are drawn independently (each domain shuffled on its own every epoch; the smaller one
repeats, as CycleGAN's loader does), and an epoch is as long as the larger domain.
Paired, ``image`` is ``source``'s twin (``paired = True``: pix2pix's L1 has a ground
truth). Both splits are made the same way from each domain's ``train`` and ``test``
images.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import gankit
from gankit.conditions import SOURCE
from gankit.data import Domains

READ_CHUNK = 64


class TranslationFolderDataset:
    """Domain A as ``source``, domain B as ``image`` (module doc)."""

    default_conditions = (SOURCE,)
    source = SOURCE
    class_names: tuple[str, ...] = ()

    def __init__(
        self, domains: Domains, *, size: int, channels: tuple[int, int], flip: bool, seed: int
    ) -> None:
        self.domains, self.flip, self.seed = domains, flip, seed
        self.image_shape = (size, size, channels[1])
        self.conditions = {SOURCE: (size, size, channels[0])}
        self.paired = domains.paired
        self.unpaired = not domains.paired
        a, b = domains.a, domains.b
        self.splits = {
            s: (a.size(s) if self.paired else max(a.size(s), b.size(s))) for s in ("train", "test")
        }
        self.splits = {s: n for s, n in self.splits.items() if n}
        self.announced = False

    def describe(self) -> str:
        """What ``dataset-preview`` prints."""
        shape = self.image_shape
        return (
            f"{self.domains.summary()}\nsize {shape[0]}x{shape[1]}; channels: A "
            f"{self.conditions[SOURCE][2]}, "
            f"B {shape[2]}; domain A is `{SOURCE}`, domain B `image`"
        )

    def _orders(self, split: str, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        n = self.splits[split]
        rng = np.random.default_rng([self.seed, ("train", "test").index(split), epoch])
        if self.paired:
            order = rng.permutation(n)
            return order, order

        def cycled(size: int) -> np.ndarray:
            return np.concatenate([rng.permutation(size) for _ in range(-(-n // size))])[:n]

        return cycled(self.domains.a.size(split)), cycled(self.domains.b.size(split))

    def load(self, split: str, *, epoch: int = 0) -> Any:
        """One epoch of ``split`` in an order seeded by (seed, split, epoch)."""
        import tensorflow as tf

        if split not in self.splits:
            raise gankit.UsageError(f"unknown split '{split}'; available: {', '.join(self.splits)}")
        order_a, order_b = self._orders(split, epoch)
        size = self.image_shape[0]
        a, b = self.domains.a, self.domains.b

        def images(domain: Any, indices: Any, channels: int) -> Any:
            pixels = tf.numpy_function(
                lambda ix: domain.read(split, ix), [indices], tf.uint8, stateful=False
            )
            pixels = tf.ensure_shape(pixels, [None, size, size, 3])
            out = tf.cast(pixels, tf.float32) / 127.5 - 1.0
            return tf.image.rgb_to_grayscale(out) if channels == 1 else out

        def flipped(images_: Any, position: Any, salt: int) -> Any:
            seed = tf.stack(
                [tf.constant(self.seed * 1_000_003 + epoch * 2 + salt, tf.int64), position]
            )
            flip = tf.random.stateless_uniform([tf.shape(images_)[0]], seed) < 0.5
            return tf.where(flip[:, None, None, None], tf.reverse(images_, axis=[2]), images_)

        def decode(position: Any, chunk: dict[str, Any]) -> dict[str, Any]:
            source = images(a, chunk["a"], self.conditions[SOURCE][2])
            image = images(b, chunk["b"], self.image_shape[2])
            if self.flip:  # paired: the same flip for both, as pix2pix's loader does
                source = flipped(source, position, 0)
                image = flipped(image, position, 0 if self.paired else 1)
            return {"image": image, SOURCE: source}

        return (
            tf.data.Dataset.from_tensor_slices({"a": order_a, "b": order_b})
            .batch(READ_CHUNK)
            .enumerate()
            .map(decode, num_parallel_calls=tf.data.AUTOTUNE)
            .unbatch()
        )
