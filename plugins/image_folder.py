"""``image-folder``: any folder of pictures as a dataset (docs/own-images.md).

``gankit train --dataset image-folder -o dataset.path=photos/ -o dataset.size=64``

Every PNG, JPEG, BMP, GIF, WebP and TIFF file under ``path`` is decoded once, at
``size`` pixels, into gankit's cache (:mod:`gankit.data.folder` says how files of every
mode and shape are handled and how the cache stays current); files that cannot be used
are skipped and listed. Subfolders are classes (``label``) when there are two or more;
``train/`` and ``test/`` (or ``val/``) folders are the splits, else a seeded
``holdout`` fraction is the test split. Images are float32 in [-1, 1], with one
channel when every image is grayscale (``channels="auto"``).

Two domains for image-to-image translation (``layout``; :mod:`gankit_plugins.image_domains`):
CycleGAN's ``trainA/ trainB/`` (found by itself), any two subfolders
(``-o dataset.domains=photos,paintings``), paired ``A/ B/`` folders
(``-o dataset.layout=paired``) or pix2pix's side-by-side ``AB`` files
(``-o dataset.layout=side-by-side``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

import numpy as np

import gankit
from gankit.conditions import LABEL
from gankit.data import (
    DecodeOptions,
    FolderImages,
    open_domains,
    open_folder,
    parse_colour,
    two_domain_layout,
)
from gankit_plugins.image_domains import TranslationFolderDataset

SIZES = tuple(2**k for k in range(3, 9))  # 8 ... 256
READ_CHUNK = 64  # rows read from the cache per call


class ImageFolderDataset:
    """The images of one folder at one size; see the module doc."""

    conditions: dict[str, tuple[int, ...]] = {}
    default_conditions: tuple[str, ...] = ()

    def __init__(self, folder: FolderImages, *, channels: int, flip: bool, seed: int) -> None:
        self.folder = folder
        self.flip = flip
        self.seed = seed
        size = folder.options.size
        self.image_shape = (size, size, channels)
        self.class_names = folder.class_names
        self.num_classes = len(folder.class_names)
        self.splits = {name: int(len(ix)) for name, ix in folder.splits.items() if len(ix)}
        self.announced = False

    def describe(self) -> str:
        """What ``dataset-preview`` prints: images, classes with counts, skipped files,
        size, channels and the cache folder."""
        f = self.folder
        lines = [] if self.announced else [f.summary()]  # the first scan printed it already
        lines.append(
            f"size {self.image_shape[0]}x{self.image_shape[1]}, {self.image_shape[2]} channel(s), "
            f"fit {f.options.fit}; splits: " + ", ".join(f"{k} {v}" for k, v in self.splits.items())
        )
        if self.class_names:
            counts = np.bincount(f.labels, minlength=self.num_classes)
            lines.append(
                "classes: " + ", ".join(f"{n} ({c})" for n, c in zip(self.class_names, counts))
            )
        else:
            lines.append("classes: none (labels come from two or more subfolders)")
        lines.append(f"cache: {f.cache_dir}")
        return "\n".join(lines)

    def load(self, split: str, *, epoch: int = 0) -> Any:
        """One epoch of ``split`` in an order seeded by (seed, split, epoch)."""
        import tensorflow as tf

        if split not in self.splits:
            raise gankit.UsageError(f"unknown split '{split}'; available: {', '.join(self.splits)}")
        indices = self.folder.splits[split]
        rng = np.random.default_rng([self.seed, list(self.splits).index(split), epoch])
        order = indices[rng.permutation(len(indices))]
        rows, labels = self.folder.rows[order], self.folder.labels[order]
        size, channels = self.image_shape[0], self.image_shape[2]

        def read(chunk_rows: np.ndarray) -> np.ndarray:
            return self.folder.read(chunk_rows)

        def decode(position: Any, chunk: dict[str, Any]) -> dict[str, Any]:
            pixels = tf.numpy_function(read, [chunk["row"]], tf.uint8, stateful=False)
            pixels = tf.ensure_shape(pixels, [None, size, size, 3])
            images = tf.cast(pixels, tf.float32) / 127.5 - 1.0
            if channels == 1:
                images = tf.image.rgb_to_grayscale(images)  # ITU-R 601 luma; exact on gray images
            if self.flip:
                seed = tf.stack([tf.constant(self.seed * 1_000_003 + epoch, tf.int64), position])
                flip = tf.random.stateless_uniform([tf.shape(images)[0]], seed) < 0.5
                images = tf.where(flip[:, None, None, None], tf.reverse(images, axis=[2]), images)
            out = {"image": images}
            if self.num_classes:
                out[LABEL] = chunk[LABEL]
            return out

        return (
            tf.data.Dataset.from_tensor_slices({"row": rows, LABEL: labels})
            .batch(READ_CHUNK)
            .enumerate()
            .map(decode, num_parallel_calls=tf.data.AUTOTUNE)
            .unbatch()
        )


def build_image_folder(
    context: gankit.DataContext,
    *,
    path: Path | None = None,
    size: int = 64,
    fit: Literal["crop", "pad", "stretch"] = "crop",
    channels: Literal["auto", 1, 3] = "auto",
    labels: Literal["auto", "none"] = "auto",
    holdout: float = 0.05,
    flip: bool = False,
    background: str = "white",
    resample: Literal["lanczos", "box", "bicubic"] = "lanczos",
    min_size: int = 16,
    seed: int = 0,
    layout: Literal["auto", "classes", "unpaired", "paired", "side-by-side"] = "auto",
    domains: str | None = None,
) -> ImageFolderDataset | TranslationFolderDataset:
    """Your own images: every picture in a folder, at one size (docs/own-images.md).

    Args:
        context: unused (the folder is ``path``); gankit's cache holds the decoded images.
        path: the folder; subfolders are read too. Required.
        size: output side in pixels, a power of two from 8 to 256.
        fit: non-square images: ``crop`` (centre square), ``pad`` (on ``background``)
            or ``stretch``.
        channels: 1 or 3; ``auto`` is 1 only when every image is grayscale.
        labels: ``auto``: two or more subfolders are the classes (sorted names);
            ``none``: no labels.
        holdout: fraction of images held out as the ``test`` split (seeded by path;
            at least one), unless the folder has ``train/`` and ``test/`` or ``val/``.
        flip: random horizontal flips (seeded per epoch), for very small folders.
        background: colour alpha is composited on and ``pad`` fills with.
        resample: resampling filter: ``lanczos``, ``box`` (area average) or ``bicubic``.
        min_size: images whose shorter side is smaller are skipped.
        seed: seeds the held-out split, the order and the flips.
        layout: ``classes``: one set of images (subfolders are classes); ``unpaired``:
            two domains for translation (``trainA/ trainB/``, optional ``testA/
            testB/``, or the ``domains``); ``paired``: ``A/`` and ``B/`` (or the
            ``domains``) with matching file names; ``side-by-side``: each file holds A
            on its left half, B on its right. ``auto``: ``unpaired`` when ``path`` has
            ``trainA/`` and ``trainB/`` or ``domains`` is given, else ``classes``.
        domains: the two domains' subfolders, A first: ``photos,paintings``.
    """
    if path is None:
        raise gankit.UsageError("dataset 'image-folder' needs a folder: -o dataset.path=FOLDER")
    if size not in SIZES:
        raise gankit.UsageError(
            f"dataset 'image-folder': size must be one of {', '.join(map(str, SIZES))}, got {size}"
        )
    if not 0.0 <= holdout < 1.0:
        raise gankit.UsageError(f"dataset 'image-folder': holdout must be in [0, 1), got {holdout}")
    try:
        options = DecodeOptions(size, fit, parse_colour(background), resample, max(1, min_size))
    except ValueError as exc:
        raise gankit.UsageError(f"dataset 'image-folder': {exc}") from None
    names = _domain_names(domains)
    if layout == "auto":
        layout = "unpaired" if names or two_domain_layout(Path(path).expanduser()) else "classes"
    if layout != "classes":
        found = open_domains(
            path, options, layout=layout, domains=names, holdout=holdout, seed=seed, log=_note
        )
        _note(f"{Path(path).expanduser()}: {found.summary()}")
        picked = tuple(
            (1 if d.all_gray else 3) if channels == "auto" else int(channels)
            for d in (found.a, found.b)
        )
        return TranslationFolderDataset(found, size=size, channels=picked, flip=flip, seed=seed)
    folder = open_folder(path, options, labels=labels, holdout=holdout, seed=seed, log=_note)
    chosen = (1 if folder.all_gray else 3) if channels == "auto" else int(channels)
    dataset = ImageFolderDataset(folder, channels=chosen, flip=flip, seed=seed)
    if folder.decoded_now:  # the first scan ends with one line
        _note(folder.summary())
        dataset.announced = True
    return dataset


def _domain_names(domains: str | None) -> tuple[str, str] | None:
    if domains is None:
        return None
    names = tuple(n.strip() for n in str(domains).split(",") if n.strip())
    if len(names) != 2:
        raise gankit.UsageError(
            f"dataset 'image-folder': domains must name two subfolders, A first "
            f"(e.g. photos,paintings), got {domains!r}"
        )
    return names[0], names[1]


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@gankit.hookimpl
def register_datasets(register):
    register("image-folder", build_image_folder)
