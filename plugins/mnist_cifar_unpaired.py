"""``mnist-cifar-unpaired``: the style pairing as an unpaired translation task.

Domain A (``source``) is MNIST digits, domain B (``image``) the pairing's composites
(``|style - digit|``, the MNIST-M construction with CIFAR-10): learn to render a digit
in a photo's style, and back, from two piles that share no example.

- ``train``: MNIST's training digits are shuffled once (seeded) and halved; domain A is
  the first half's digits, domain B the composites of the second half's digits with
  CIFAR-10 training images. No digit is in both. Each epoch draws A and B in
  independent orders.
- ``test``: MNIST's test digits, each with its composite (a CIFAR-10 test image as the
  style) and its label, for scoring only (``paired_test``): A to B content accuracy and
  Fréchet distance, B to A PSNR to the source digit.

A run on it with no ``--scheme`` trains the default unpaired scheme
(:data:`gankit.scheme.DEFAULT_UNPAIRED_SCHEME`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import gankit
from gankit.conditions import LABEL, SOURCE
from gankit.scheme import DEFAULT_UNPAIRED_SCHEME
from gankit_plugins.mnist_cifar import (
    DIGITS,
    load_cifar10_arrays,
    load_mnist_arrays,
    pad_digits,
    pair_mnist_with_cifar,
)

SPLITS = ("train", "test")
CHUNK = 256


class UnpairedMnistCifar:
    """Digits (A, ``source``) and composites of other digits (B, ``image``)."""

    image_shape = (32, 32, 3)
    conditions = {SOURCE: (32, 32, 1)}
    default_conditions = (SOURCE,)
    source = SOURCE
    paired = False
    unpaired = True
    paired_test = True  # the test split's image is its source digit's composite
    class_names = DIGITS  # `label`: the source digit's class

    def __init__(self, context: gankit.DataContext, seed: int = 0) -> None:
        self.context, self.seed = context, seed
        self._arrays: dict[str, Any] | None = None

    def arrays(self) -> dict[str, Any]:
        """Per split: the A digits and labels, the B digits and their style images."""
        if self._arrays is None:
            mnist, cifar = load_mnist_arrays(self.context), load_cifar10_arrays(self.context)
            digits, labels = pad_digits(mnist["x_train"]), mnist["y_train"].astype(np.int32)
            order = np.random.default_rng([self.seed, 17]).permutation(len(digits))
            half = len(order) // 2
            a, b = order[:half], order[half:]
            styles = pair_mnist_with_cifar(len(b), len(cifar["x_train"]), self.seed * 2)
            test_styles = pair_mnist_with_cifar(
                len(mnist["x_test"]), len(cifar["x_test"]), self.seed * 2 + 1
            )
            self._arrays = {
                "train": (digits[a], labels[a], digits[b], cifar["x_train"][styles]),
                "test": (
                    pad_digits(mnist["x_test"]),
                    mnist["y_test"].astype(np.int32),
                    pad_digits(mnist["x_test"]),
                    cifar["x_test"][test_styles],
                ),
            }
        return self._arrays

    @property
    def splits(self) -> dict[str, int]:
        return {s: max(len(v[0]), len(v[2])) for s, v in self.arrays().items()}

    def load(self, split: str, *, epoch: int = 0) -> Any:
        """``{"image", "source", "label"}``: unpaired in ``train``, twins in ``test``."""
        import tensorflow as tf

        if split not in SPLITS:
            raise gankit.UsageError(f"unknown split '{split}'; available: {', '.join(SPLITS)}")
        digits_a, labels_a, digits_b, styles_b = (tf.constant(x) for x in self.arrays()[split])
        n = self.splits[split]
        if split == "train":
            rng = np.random.default_rng([self.seed, epoch, 1])
            ia, ib = rng.permutation(len(labels_a)), rng.permutation(int(digits_b.shape[0]))
        else:
            ia = ib = np.arange(n)

        def compose(i: Any, j: Any) -> dict[str, Any]:
            digit_a = tf.cast(tf.gather(digits_a, i), tf.float32) / 255.0
            digit_b = tf.cast(tf.gather(digits_b, j), tf.float32) / 255.0
            style = tf.cast(tf.gather(styles_b, j), tf.float32) / 255.0
            return {
                "image": tf.abs(style - digit_b) * 2.0 - 1.0,
                SOURCE: digit_a * 2.0 - 1.0,
                LABEL: tf.gather(labels_a, i),
            }

        pairs = (ia[:n].astype(np.int64), ib[:n].astype(np.int64))
        return (
            tf.data.Dataset.from_tensor_slices(pairs)
            .batch(CHUNK)
            .map(compose, num_parallel_calls=tf.data.AUTOTUNE)
            .unbatch()
        )


def build_mnist_cifar_unpaired(context: gankit.DataContext, *, seed: int = 0) -> UnpairedMnistCifar:
    """MNIST digits (A) and MNIST-M-style composites of other digits (B), unpaired.

    Args:
        context: where the data files are.
        seed: the split of MNIST's digits into the two domains, the styles and the order.
    """
    return UnpairedMnistCifar(context, seed)


@gankit.hookimpl
def register_datasets(register):
    register(
        "mnist-cifar-unpaired",
        build_mnist_cifar_unpaired,
        training=gankit.TrainingDefaults(scheme=DEFAULT_UNPAIRED_SCHEME),
    )
