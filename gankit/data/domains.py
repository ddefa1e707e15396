"""Two image domains from folders, for image-to-image translation.

Layouts (``open_domains``):

- **unpaired**: CycleGAN's ``trainA/ trainB/`` (with optional ``testA/ testB/``), or any
  two subfolders named by ``domains`` (each may hold ``train/`` and ``test/`` folders).
  The domains may differ in size. A domain without a test folder holds out a seeded
  ``holdout`` share of its images as its test split.
- **paired**: ``A/`` and ``B/`` (or the two ``domains``) whose files match by relative
  path without extension (``A/0001.jpg`` with ``B/0001.png``); a file without its twin
  is reported in the summary line, not fatal.
- **side-by-side**: pix2pix's ``AB`` files: each image holds A on its left half and B on
  its right; every file is decoded twice, one half at a time.

Each folder is read by :func:`gankit.data.folder.open_folder` (its cache, robustness and
skip report), so a domain's odd files are skipped and listed the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from gankit.data.decode import DecodeOptions
from gankit.data.folder import FolderImages, open_folder
from gankit.errors import DataError, UsageError

__all__ = ["LAYOUTS", "Domain", "Domains", "open_domains", "two_domain_layout"]

LAYOUTS = ("unpaired", "paired", "side-by-side")
SPLITS = ("train", "test")


@dataclass
class Domain:
    """One domain: for each split, the folder its images are in and their cache rows."""

    name: str
    folders: dict[str, FolderImages]
    rows: dict[str, np.ndarray]

    def read(self, split: str, indices: np.ndarray) -> np.ndarray:
        """Images ``indices`` of ``split`` as ``(k, S, S, 3)`` uint8."""
        return self.folders[split].read(self.rows[split][indices])

    @property
    def all_gray(self) -> bool:
        return all(f.all_gray for f in self.folders.values())

    def size(self, split: str) -> int:
        return int(len(self.rows[split]))


@dataclass
class Domains:
    """Domains A and B; ``paired``: image ``i`` of A's split is the twin of B's."""

    a: Domain
    b: Domain
    paired: bool
    notes: list[str]

    def summary(self) -> str:
        sizes = "; ".join(
            f"{d.name}: " + ", ".join(f"{s} {d.size(s)}" for s in SPLITS) for d in (self.a, self.b)
        )
        kind = "pairs" if self.paired else "unpaired images"
        return f"{kind} ({sizes})" + "".join(f"; {n}" for n in self.notes)


def two_domain_layout(root: Path) -> tuple[str, str] | None:
    """CycleGAN's ``trainA``/``trainB`` folders in ``root``, if there."""
    return ("A", "B") if (root / "trainA").is_dir() and (root / "trainB").is_dir() else None


def open_domains(
    root: str | Path,
    options: DecodeOptions,
    *,
    layout: str,
    domains: tuple[str, str] | None,
    holdout: float,
    seed: int,
    log: Callable[[str], None] | None = None,
) -> Domains:
    """The two domains under ``root`` in ``layout`` (module doc). Raises ``UsageError``
    for a missing folder and ``DataError`` for a domain without usable images."""
    root = Path(root).expanduser().resolve()
    if layout not in LAYOUTS:
        raise UsageError(f"unknown layout '{layout}' (choose one of {', '.join(LAYOUTS)})")
    if layout == "side-by-side":
        return _side_by_side(root, options, holdout, seed, log)
    names = domains or two_domain_layout(root) or ("A", "B")
    if layout == "unpaired":
        return Domains(
            _unpaired_domain(root, names[0], options, holdout, seed, log),
            _unpaired_domain(root, names[1], options, holdout, seed, log),
            False,
            [],
        )
    return _paired(root, names, options, holdout, seed, log)


def _open(
    path: Path, options: DecodeOptions, holdout: float, seed: int, log: Callable[[str], None] | None
) -> FolderImages:
    folder = open_folder(path, options, labels="none", holdout=holdout, seed=seed, log=log)
    if folder.decoded_now and log is not None:
        log(folder.summary())
    return folder


def _unpaired_domain(
    root: Path,
    name: str,
    options: DecodeOptions,
    holdout: float,
    seed: int,
    log: Callable[[str], None] | None,
) -> Domain:
    """Domain ``name``: ``train<name>/`` (+ ``test<name>/``) or the folder ``name``."""
    train, test = root / f"train{name}", root / f"test{name}"
    if train.is_dir():
        folder = _open(train, options, holdout, seed, log)
        if test.is_dir():
            test_folder = _open(test, options, 0.0, seed, log)
            return Domain(
                name,
                {"train": folder, "test": test_folder},
                {"train": folder.rows, "test": test_folder.rows},
            )
        return Domain(
            name, {s: folder for s in SPLITS}, {s: folder.rows[folder.splits[s]] for s in SPLITS}
        )
    if not (root / name).is_dir():
        raise UsageError(
            f"{root} has no folder {name}/ or train{name}/ (name the two domains with "
            "-o dataset.domains=FIRST,SECOND)"
        )
    folder = _open(root / name, options, holdout, seed, log)
    return Domain(
        name, {s: folder for s in SPLITS}, {s: folder.rows[folder.splits[s]] for s in SPLITS}
    )


def _stem(path: str) -> str:
    return path.rsplit(".", 1)[0]


def _paired(
    root: Path,
    names: tuple[str, str],
    options: DecodeOptions,
    holdout: float,
    seed: int,
    log: Callable[[str], None] | None,
) -> Domains:
    """``A/`` and ``B/`` matched by relative path without extension; A's split decides."""
    for name in names:
        if not (root / name).is_dir():
            raise UsageError(
                f"{root} has no folder {name}/ (paired images: {names[0]}/ and {names[1]}/ "
                "with matching file names)"
            )
    a, b = (_open(root / n, options, holdout, seed, log) for n in names)
    b_index = {_stem(p): i for i, p in enumerate(b.files)}
    a_stems = {_stem(p) for p in a.files}
    notes = []
    lonely = sorted(a_stems ^ set(b_index))
    if lonely:
        notes.append(
            f"{len(lonely)} files without a twin left out "
            f"({', '.join(lonely[:3])}{', ...' if len(lonely) > 3 else ''})"
        )
    rows_a: dict[str, np.ndarray] = {}
    rows_b: dict[str, np.ndarray] = {}
    for split in SPLITS:
        kept = [i for i in a.splits[split] if _stem(a.files[i]) in b_index]
        rows_a[split] = a.rows[np.asarray(kept, np.int64)]
        rows_b[split] = b.rows[np.asarray([b_index[_stem(a.files[i])] for i in kept], np.int64)]
    if not len(rows_a["train"]):
        raise DataError(
            f"{root}: no file of {names[0]}/ has a twin in {names[1]}/ (twins share their name "
            "without extension)"
        )
    return Domains(
        Domain(names[0], {s: a for s in SPLITS}, rows_a),
        Domain(names[1], {s: b for s in SPLITS}, rows_b),
        True,
        notes,
    )


def _side_by_side(
    root: Path, options: DecodeOptions, holdout: float, seed: int, log: Callable[[str], None] | None
) -> Domains:
    """pix2pix's ``AB`` files: the left halves are A, the right halves B."""
    left = _open(root, replace(options, half="left"), holdout, seed, log)
    right = _open(root, replace(options, half="right"), holdout, seed, log)
    if left.files != right.files:  # a half too small for min_size: keep files both halves decoded
        raise DataError(
            f"{root}: some side-by-side files decode on one half only; see "
            f"{left.cache_dir}/skipped.txt"
        )
    return Domains(
        Domain("A", {s: left for s in SPLITS}, {s: left.rows[left.splits[s]] for s in SPLITS}),
        Domain("B", {s: right for s in SPLITS}, {s: right.rows[right.splits[s]] for s in SPLITS}),
        True,
        [],
    )
