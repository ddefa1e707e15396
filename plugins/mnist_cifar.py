"""MNIST + CIFAR-10 style pairing, and plain MNIST and CIFAR-10.

``mnist-cifar`` pairs each MNIST digit (content) with a CIFAR-10 image (style), both at
32x32 in [-1, 1]:

- ``content``: the digit padded 28 -> 32, (32, 32, 1)
- ``style``: the CIFAR-10 image, (32, 32, 3)
- ``image``: the MNIST-M construction (Ganin & Lempitsky 2015) with CIFAR-10 in place
  of BSDS500: ``|style - digit|`` per channel in [0, 1], then scaled to [-1, 1]
- ``label``: the digit class; ``style_label``: the CIFAR-10 class

Splits: ``train`` pairs MNIST train with CIFAR-10 train, ``test`` pairs the test sets.
With ``styles=FOLDER`` the style images are the user's own pictures instead of
CIFAR-10 (any folder ``image-folder`` reads, decoded at 32x32 into the same cache; its
held-out split serves the test pairs; ``style_label`` is the subfolder class, or -1).
The pairing is seeded (option ``seed``): each digit gets a style image from a shuffled
pass over CIFAR-10, so every style image is used about equally often. With
``repair_each_epoch`` the pairing changes from epoch to epoch (still seeded).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import gankit
from gankit.conditions import LABEL
from gankit.data import (
    DecodeOptions,
    RemoteFile,
    fetch,
    find_data_file,
    missing_data_message,
    open_folder,
    read_npz,
    read_pickle_file,
    read_pickle_members,
)

MNIST_REMOTE = RemoteFile(
    "mnist.npz",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
)
CIFAR_REMOTE = RemoteFile(
    "cifar-10-python.tar.gz",
    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
)
_CIFAR_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
# Where Keras 3 (…-target/…) and Keras 2 extract the CIFAR-10 download in its cache.
_CIFAR_CACHE_DIRS = ["cifar-10-batches-py-target/cifar-10-batches-py", "cifar-10-batches-py"]
SPLITS = ("train", "test")
DIGITS = tuple(str(d) for d in range(10))
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

Arrays = dict[str, np.ndarray]  # x_train, y_train, x_test, y_test


def load_mnist_arrays(context: gankit.DataContext) -> Arrays:
    """MNIST as uint8 arrays ``x_*`` (N, 28, 28) and ``y_*`` (N,)."""
    path = find_data_file(context, ["mnist.npz"])
    if path is None:
        path = _download(context, MNIST_REMOTE, "MNIST", ["mnist.npz"])
    layout = {
        "x_train": (None, 28, 28),
        "y_train": (None,),
        "x_test": (None, 28, 28),
        "y_test": (None,),
    }
    return read_npz(path, layout)


def load_cifar10_arrays(context: gankit.DataContext) -> Arrays:
    """CIFAR-10 as uint8 arrays ``x_*`` (N, 32, 32, 3) RGB and ``y_*`` (N,).

    Reads ``cifar10.npz`` (Keras layout), the original ``cifar-10-python.tar.gz``, or
    a Keras-extracted ``cifar-10-batches-py`` folder.
    """
    names = ["cifar10.npz", CIFAR_REMOTE.filename, *_CIFAR_CACHE_DIRS]
    path = find_data_file(context, names)
    if path is None:
        path = _download(context, CIFAR_REMOTE, "CIFAR-10", ["cifar10.npz", CIFAR_REMOTE.filename])
    if path.suffix == ".npz":
        layout = {
            "x_train": (None, 32, 32, 3),
            "y_train": (None,),
            "x_test": (None, 32, 32, 3),
            "y_test": (None,),
        }
        try:
            return read_npz(path, layout)
        except gankit.DataError:
            # Keras's own cifar10 labels are (N, 1); accept that layout too.
            layout["y_train"] = layout["y_test"] = (None, 1)
            arrays = read_npz(path, layout)
            return {k: v.reshape(len(v)) if k.startswith("y") else v for k, v in arrays.items()}
    if path.is_dir():
        batches = {
            name: read_pickle_file(path / name)
            for name in _CIFAR_BATCHES
            if (path / name).is_file()
        }
        if len(batches) != len(_CIFAR_BATCHES):
            raise gankit.DataError(f"{path} lacks some of {', '.join(_CIFAR_BATCHES)}")
    else:
        batches = read_pickle_members(path, _CIFAR_BATCHES)

    def stack(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        try:
            x = np.concatenate([np.asarray(batches[n]["data"], np.uint8) for n in names])
            y = np.concatenate([np.asarray(batches[n]["labels"], np.uint8) for n in names])
            return x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), y
        except (KeyError, ValueError) as exc:
            raise gankit.DataError(f"{path}: unexpected CIFAR-10 batch content ({exc})") from None

    x_train, y_train = stack(_CIFAR_BATCHES[:5])
    x_test, y_test = stack(_CIFAR_BATCHES[5:])
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _download(context: gankit.DataContext, remote: RemoteFile, what: str, files: list[str]) -> Path:
    try:
        return fetch(context, remote)
    except gankit.DataError as exc:
        raise gankit.DataError(missing_data_message(what, files, context, str(exc))) from None


def pair_mnist_with_cifar(n_content: int, n_style: int, seed: int, epoch: int = 0) -> np.ndarray:
    """Style index for each content index: shuffled passes over the style set, seeded."""
    rng = np.random.default_rng([seed, epoch])
    passes = math.ceil(n_content / n_style)
    return np.concatenate([rng.permutation(n_style) for _ in range(passes)])[:n_content]


def _to_unit(x: Any) -> Any:
    import tensorflow as tf

    return tf.cast(x, tf.float32) / 255.0


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise gankit.UsageError(f"unknown split '{split}'; available: {', '.join(SPLITS)}")


COMPOSE_CHUNK = 256


class MnistCifarDataset:
    """MNIST digits (content) paired with CIFAR-10 images (style); see the module doc."""

    image_shape = (32, 32, 3)
    conditions = {"content": (32, 32, 1), "style": (32, 32, 3)}
    default_conditions = ("content", "style")
    paired = True  # `image` is exactly what the conditions should render to
    source = "content"  # what a translation scheme (pix2pix) maps to `image`
    num_classes = 10
    class_names = DIGITS  # `label` is the digit

    def __init__(
        self,
        context: gankit.DataContext,
        seed: int = 0,
        repair_each_epoch: bool = False,
        styles: Path | None = None,
    ) -> None:
        self.context = context
        self.seed = seed
        self.repair_each_epoch = repair_each_epoch
        self.styles = styles
        self._mnist: Arrays | None = None
        self._cifar: Arrays | None = None
        self._cache: dict[str, tuple[Any, Any, Any, Any]] = {}

    @property
    def splits(self) -> dict[str, int]:
        """Examples per split: one per MNIST digit (60,000 / 10,000 for the real data)."""
        mnist, _ = self.arrays()
        return {s: len(mnist[f"y_{s}"]) for s in SPLITS}

    def compose_parts(self, drawn: dict[str, Any]) -> dict[str, Any]:
        """How an unconditional run (``--parts``, the default here) composes the image from
        the digit and the style image its generator draws: the digit's ink is
        ``2 relu(d) - 1``, so the background is exactly -1 unless the generator draws there
        (as MNIST's is 0), and the image ``|style - digit|`` as :meth:`load` makes it; the
        discriminator sees the image and the digit (gankit.nn.parts)."""
        from keras import layers

        def layer(kind: Any, name: str, *args: Any, **kwargs: Any) -> Any:
            return kind(*args, dtype="float32", name=name, **kwargs)

        ink = layer(layers.ReLU, "ink")(drawn["content"])
        content = layer(layers.Rescaling, "digit", 2.0, offset=-1.0)(ink)
        style = drawn["style"]
        difference = layer(layers.Subtract, "style_minus_digit")([style, content])
        negated = layer(layers.Rescaling, "digit_minus_style", -1.0)(difference)
        absolute = layer(layers.Add, "abs")(
            [  # |x| = relu(x) + relu(-x): Keras has no Abs layer
                layer(layers.ReLU, "abs_pos")(difference),
                layer(layers.ReLU, "abs_neg")(negated),
            ]
        )
        # in [-1, 1] units |style - digit| is twice the [0, 1] one: |s - d| - 1 maps it back
        image = layer(layers.Rescaling, "composite", 1.0, offset=-1.0)(absolute)
        # The discriminator is shown the digit beside the image, not the style image: the
        # digit is what a discriminator of the image alone judges worst (docs/performance.md).
        return {"image": image, "content": content}

    def arrays(self) -> tuple[Arrays, Arrays]:
        """The raw MNIST and CIFAR-10 arrays (loaded once)."""
        if self._mnist is None:
            self._mnist = load_mnist_arrays(self.context)
        if self._cifar is None:
            self._cifar = (
                load_cifar10_arrays(self.context)
                if self.styles is None
                else _folder_styles(self.styles)
            )
        return self._mnist, self._cifar

    def _tensors(self, split: str) -> tuple[Any, Any, Any, Any]:
        """The split's arrays as tensors, made once (every epoch's pipeline shares them)."""
        import tensorflow as tf

        if split not in self._cache:
            mnist, cifar = self.arrays()
            self._cache[split] = (
                tf.constant(pad_digits(mnist[f"x_{split}"])),
                tf.constant(cifar[f"x_{split}"]),
                tf.constant(mnist[f"y_{split}"].astype(np.int32)),
                tf.constant(cifar[f"y_{split}"].astype(np.int32)),
            )
        return self._cache[split]

    def load(self, split: str, *, epoch: int = 0) -> Any:
        import tensorflow as tf

        _check_split(split)
        digits_t, styles_t, labels_t, style_labels_t = self._tensors(split)
        split_seed = self.seed * 2 + SPLITS.index(split)
        pairing = pair_mnist_with_cifar(
            int(digits_t.shape[0]),
            int(styles_t.shape[0]),
            split_seed,
            epoch if self.repair_each_epoch else 0,
        )

        def compose(i: Any, j: Any) -> dict[str, Any]:
            digit = _to_unit(tf.gather(digits_t, i))
            style = _to_unit(tf.gather(styles_t, j))
            image = tf.abs(style - digit)  # broadcast the digit to 3 channels
            return {
                "image": image * 2.0 - 1.0,
                "content": digit * 2.0 - 1.0,
                "style": style * 2.0 - 1.0,
                LABEL: tf.gather(labels_t, i),
                "style_label": tf.gather(style_labels_t, j),
            }

        # Composed a chunk at a time (the same arithmetic, vectorised), then split into
        # examples: a fraction of the per-example cost, which the training steps share
        # the CPU with.
        indices = (np.arange(len(pairing), dtype=np.int64), pairing.astype(np.int64))
        return (
            tf.data.Dataset.from_tensor_slices(indices)
            .batch(COMPOSE_CHUNK)
            .map(compose, num_parallel_calls=tf.data.AUTOTUNE)
            .unbatch()
        )


class ImageDataset:
    """An unconditional dataset over one set of images (``image`` and ``label``).

    Args:
        context: where the data files are.
        loader: returns the uint8 arrays ``x_train``, ``y_train``, ``x_test``, ``y_test``.
        class_names: the names of the labels, in label order.
        image_shape: the (H, W, C) the images have after ``prepare``.
        prepare: maps an ``x_*`` array to (N, H, W, C) uint8.
    """

    conditions: dict[str, tuple[int, ...]] = {}
    default_conditions: tuple[str, ...] = ()

    def __init__(
        self,
        context: gankit.DataContext,
        loader: Callable[[gankit.DataContext], Arrays],
        image_shape: tuple[int, int, int],
        prepare: Callable[[np.ndarray], np.ndarray] = lambda x: x,
        class_names: tuple[str, ...] = DIGITS,
    ) -> None:
        self.context = context
        self.class_names = class_names
        self.num_classes = len(class_names)
        self.image_shape = image_shape
        self._loader = loader
        self._prepare = prepare
        self._arrays: Arrays | None = None
        self._cache: dict[str, tuple[Any, Any]] = {}

    @property
    def splits(self) -> dict[str, int]:
        arrays = self.arrays()
        return {s: len(arrays[f"y_{s}"]) for s in SPLITS}

    def arrays(self) -> Arrays:
        if self._arrays is None:
            self._arrays = self._loader(self.context)
        return self._arrays

    def load(self, split: str, *, epoch: int = 0) -> Any:
        import tensorflow as tf

        _check_split(split)
        if split not in self._cache:  # tensors made once; every epoch's pipeline shares them
            arrays = self.arrays()
            self._cache[split] = (
                tf.constant(self._prepare(arrays[f"x_{split}"])),
                tf.constant(arrays[f"y_{split}"].astype(np.int32)),
            )
        return tf.data.Dataset.from_tensor_slices(self._cache[split]).map(
            lambda x, y: {"image": _to_unit(x) * 2.0 - 1.0, LABEL: y},
            num_parallel_calls=tf.data.AUTOTUNE,
        )


def _folder_styles(path: Path) -> Arrays:
    """A folder of pictures as style arrays in CIFAR-10's layout (32x32 RGB uint8)."""
    folder = open_folder(path, DecodeOptions(32), log=_note)
    if folder.decoded_now:
        _note(folder.summary())
    out: Arrays = {}
    for split in SPLITS:
        ix = folder.splits[split]
        out[f"x_{split}"] = folder.read(folder.rows[ix])
        out[f"y_{split}"] = folder.labels[ix]
    return out


def _note(text: str) -> None:
    import sys

    print(text, file=sys.stderr, flush=True)


def pad_digits(x: np.ndarray) -> np.ndarray:
    return np.pad(x, ((0, 0), (2, 2), (2, 2)))[..., None]


def build_mnist_cifar(
    context: gankit.DataContext,
    *,
    seed: int = 0,
    repair_each_epoch: bool = False,
    styles: Path | None = None,
) -> MnistCifarDataset:
    """MNIST digits rendered in CIFAR-10 style (content, style, image, labels).

    Args:
        context: where the data files are.
        seed: the pairing's seed; the same seed gives the same pairs.
        repair_each_epoch: draw a new (seeded) pairing every epoch.
        styles: a folder of your own pictures to use as the styles instead of
            CIFAR-10 (read as ``image-folder`` reads it, at 32x32).
    """
    return MnistCifarDataset(context, seed, repair_each_epoch, styles)


def build_mnist(context: gankit.DataContext) -> ImageDataset:
    """MNIST digits padded to 32x32, one channel (unconditional)."""
    return ImageDataset(context, load_mnist_arrays, (32, 32, 1), pad_digits)


def build_cifar10(context: gankit.DataContext) -> ImageDataset:
    """CIFAR-10 32x32 RGB images (unconditional)."""
    return ImageDataset(context, load_cifar10_arrays, (32, 32, 3), class_names=CIFAR10_CLASSES)


@gankit.hookimpl
def register_datasets(register):
    register("mnist-cifar", build_mnist_cifar)
    register("mnist", build_mnist)
    register("cifar10", build_cifar10)
