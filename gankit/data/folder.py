"""A folder of image files, decoded once into a cache of uint8 arrays at one size.

:func:`open_folder` scans ``root`` recursively for :data:`IMAGE_EXTENSIONS` (other
files, hidden files and hidden folders are ignored), decodes each new or changed file
once — in parallel threads, with a progress bar on a terminal — and keeps the result
in ``<gankit cache>/image-folder/<key>/``: ``images-<n>.u8`` (raw ``(N, S, S, 3)``
uint8 rows, memory-mappable), ``index.json`` (every file's path, size and mtime, its
row or the reason it was skipped) and ``skipped.txt`` (the full list of skipped
files). The key is the folder's absolute path and the :class:`DecodeOptions`; a later
open re-scans the file list (one ``stat`` per file), reuses every unchanged row and
decodes only what is new or changed, so it starts in seconds.

Layout: images in two or more subfolders give classes (the subfolder names, sorted:
``keras.utils.image_dataset_from_directory``'s and ``torchvision``'s convention);
top-level ``train/`` plus ``test/`` (or ``val/``, ``validation/``) folders give the
splits, with classes inside them. Otherwise a seeded hash of each path holds out a
``test`` split, so adding files never moves an existing one between splits.

Rows are read with ``pread`` (:meth:`FolderImages.read`), through the OS page cache:
a cache larger than memory trains without being loaded whole.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gankit.data.cache_files import PreviousRows, pread_row, read_index, write_index
from gankit.data.decode import DecodeOptions, SkippedFile, decode_image
from gankit.data.files import user_cache_dir
from gankit.errors import DataError, UsageError

__all__ = ["IMAGE_EXTENSIONS", "SPLIT_FOLDERS", "FolderImages", "open_folder"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
SPLIT_FOLDERS = {"train": ("train",), "test": ("test", "val", "validation")}
CACHE_VERSION = 1
CHUNK = 256  # files decoded per batch of threads: bounds the decoded rows held at once


@dataclass(frozen=True)
class _File:
    path: str  # relative to the root, with "/"
    size: int
    mtime_ns: int


@dataclass
class FolderImages:
    """The decoded images of a folder (see the module doc). ``rows[i]`` is the cache row
    of ``files[i]``; ``labels`` index ``class_names`` (-1: none); ``splits`` map a split
    name to indices into ``files``."""

    root: Path
    options: DecodeOptions
    cache_dir: Path
    data_file: Path
    files: list[str]
    rows: np.ndarray
    gray: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    splits: dict[str, np.ndarray]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    decoded_now: int = 0  # files decoded by this open (0: all from the cache)

    @property
    def all_gray(self) -> bool:
        return bool(len(self.gray)) and bool(self.gray.all())

    def read(self, rows: Sequence[int]) -> np.ndarray:
        """The cache rows ``rows`` as ``(k, S, S, 3)`` uint8, without mapping the file."""
        s = self.options.size
        row_bytes = s * s * 3
        out = np.empty((len(rows), s, s, 3), np.uint8)
        flat = out.reshape(len(rows), row_bytes)
        fd = os.open(self.data_file, os.O_RDONLY)
        try:
            for i, row in enumerate(rows):
                data = pread_row(fd, int(row), row_bytes)
                if data is None:
                    raise DataError(
                        f"the image cache {self.data_file} is truncated; delete {self.cache_dir}"
                    )
                flat[i] = np.frombuffer(data, np.uint8)
        finally:
            os.close(fd)
        return out

    def summary(self) -> str:
        """One line: used and skipped files, and why (the first few paths)."""
        line = f"{self.root}: {len(self.files)} images used"
        if self.class_names:
            line += f" in {len(self.class_names)} classes"
        if self.skipped:
            reasons: dict[str, int] = {}
            for _, reason in self.skipped:
                kind = reason.split(" (")[0]
                reasons[kind] = reasons.get(kind, 0) + 1
            why = ", ".join(
                f"{n} {kind}" for kind, n in sorted(reasons.items(), key=lambda kv: -kv[1])
            )
            first = ", ".join(p for p, _ in self.skipped[:3]) + (
                ", ..." if len(self.skipped) > 3 else ""
            )
            listed = self.cache_dir / "skipped.txt"
            line += f", {len(self.skipped)} skipped ({why}: {first}; full list in {listed})"
        return line


def open_folder(
    root: str | Path,
    options: DecodeOptions,
    *,
    labels: str = "auto",
    holdout: float = 0.05,
    seed: int = 0,
    cache_root: Path | None = None,
    workers: int | None = None,
    log: Callable[[str], None] | None = None,
) -> FolderImages:
    """Scan ``root``, decode what the cache lacks, and lay out classes and splits.

    Raises ``UsageError`` when ``root`` is not a folder and ``DataError`` when it holds
    no usable image.
    """
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise UsageError(f"image folder {root} does not exist or is not a folder")
    files = _list_images(root)
    if not files:
        raise DataError(
            f"{root} holds no image files (looked for {', '.join(IMAGE_EXTENSIONS)}, in subfolders "
            "too)"
        )
    ident = {"root": str(root), "options": options.key(), "version": CACHE_VERSION}
    digest = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]
    cache_dir = (
        (cache_root or user_cache_dir())
        / "image-folder"
        / f"{root.name or 'root'}-{options.size}px-{digest}"
    )
    index, decoded = _update_cache(root, files, options, cache_dir, ident, workers=workers, log=log)
    used = [e for e in index["entries"] if e["row"] >= 0]
    skipped = [(e["path"], e["reason"]) for e in index["entries"] if e["row"] < 0]
    if not used:
        raise DataError(
            f"{root} has {len(files)} image files and none could be used "
            f"(first: {skipped[0][0]}: {skipped[0][1]}; full list in {cache_dir / 'skipped.txt'})"
        )
    paths = [e["path"] for e in used]
    split_of, class_of = _layout(paths)
    class_names = tuple(sorted(set(class_of))) if labels == "auto" and _labelled(class_of) else ()
    label_ids = np.array([class_names.index(c) if class_names else -1 for c in class_of], np.int32)
    return FolderImages(
        root=root,
        options=options,
        cache_dir=cache_dir,
        data_file=cache_dir / index["data_file"],
        files=paths,
        rows=np.array([e["row"] for e in used], np.int64),
        gray=np.array([e["gray"] for e in used], bool),
        labels=label_ids,
        class_names=class_names,
        splits=_splits(paths, split_of, holdout, seed),
        skipped=skipped,
        decoded_now=decoded,
    )


# === Scanning and layout ===


def _list_images(root: Path) -> list[_File]:
    """Image files under ``root`` (sorted by path), hidden files and folders left out."""
    found = []
    for folder, dirs, names in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = Path(folder).relative_to(root)
        for name in sorted(names):
            if name.startswith(".") or not name.lower().endswith(IMAGE_EXTENSIONS):
                continue
            try:
                st = os.stat(os.path.join(folder, name))
            except OSError:  # a dangling link or a file removed while scanning
                continue
            found.append(_File((rel / name).as_posix(), st.st_size, st.st_mtime_ns))
    return sorted(found, key=lambda f: f.path)


def _layout(paths: Sequence[str]) -> tuple[list[str | None], list[str | None]]:
    """Each path's split folder (None: not in one) and class folder (None: not in one)."""
    tops = {p.split("/")[0].lower() for p in paths if "/" in p}
    by_folder = "train" in tops and any(t in tops for t in SPLIT_FOLDERS["test"])
    split_of: list[str | None] = []
    class_of: list[str | None] = []
    for p in paths:
        parts = p.split("/")
        split = None
        if by_folder and len(parts) > 1:
            split = next(
                (s for s, names in SPLIT_FOLDERS.items() if parts[0].lower() in names), None
            )
        if split is not None:
            parts = parts[1:]
        split_of.append(split if by_folder else None)
        class_of.append(parts[0] if len(parts) > 1 else None)
    return split_of, class_of


def _labelled(class_of: Sequence[str | None]) -> bool:
    """Classes come from folders when every image is in one, and there are at least two."""
    return all(c is not None for c in class_of) and len(set(class_of)) >= 2


def _splits(
    paths: Sequence[str], split_of: Sequence[str | None], holdout: float, seed: int
) -> dict[str, np.ndarray]:
    if any(s is not None for s in split_of):  # train/ and test/ folders (files elsewhere: train)
        test = np.array([s == "test" for s in split_of])
    else:
        if len(paths) < 2:
            raise DataError(
                "an image folder needs at least 2 usable images (one is held out for the test "
                "split)"
            )
        scores = np.array([_unit_hash(seed, p) for p in paths])
        test = scores < holdout
        if not test.any():
            test[int(scores.argmin())] = True
        if test.all():
            test[int(scores.argmax())] = False
    return {"train": np.flatnonzero(~test), "test": np.flatnonzero(test)}


def _unit_hash(seed: int, path: str) -> float:
    return int(hashlib.sha1(f"{seed}:{path}".encode()).hexdigest()[:13], 16) / 16**13


# === The cache ===


def _update_cache(
    root: Path,
    files: list[_File],
    options: DecodeOptions,
    cache_dir: Path,
    ident: dict[str, Any],
    *,
    workers: int | None,
    log: Callable[[str], None] | None,
) -> tuple[dict[str, Any], int]:
    """The cache index for ``files``, decoding what the cache lacks; returns it and how
    many files were decoded now."""
    old = read_index(cache_dir, ident)
    known = {e["path"]: e for e in old["entries"]} if old else {}
    fresh = [f for f in files if not _unchanged(known.get(f.path), f)]
    if old is not None and not fresh and len(known) == len(files):
        return old, 0
    if log and fresh:
        log(
            f"decoding {len(fresh)} image files at {options.size}x{options.size} (once; cached in "
            f"{cache_dir})"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    generation = (old["generation"] + 1) if old else 0
    data_name = f"images-{generation}.u8"
    tmp = cache_dir / f".{data_name}.{os.getpid()}.tmp"
    entries, row = [], 0
    old_data = cache_dir / old["data_file"] if old else None
    row_bytes = options.size * options.size * 3
    try:
        with open(tmp, "wb") as out, PreviousRows(old_data) as previous:
            decoded = _decode_all(root, fresh, options, workers)
            for f in files:
                entry = known.get(f.path)
                if _unchanged(entry, f):
                    pixels = previous.row(entry["row"], row_bytes) if entry["row"] >= 0 else None
                    gray, reason = entry["gray"], entry["reason"]
                else:
                    pixels, gray, reason = next(decoded)
                if pixels is None:
                    entries.append(_entry(f, -1, False, reason))
                    continue
                out.write(pixels)
                entries.append(_entry(f, row, gray, ""))
                row += 1
        os.replace(tmp, cache_dir / data_name)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DataError(
            f"cannot write the image cache in {cache_dir}: {exc.strerror or exc}"
        ) from None
    index = {
        **ident,
        "generation": generation,
        "data_file": data_name,
        "rows": row,
        "entries": entries,
    }
    write_index(cache_dir, index, old_data)
    return index, len(fresh)


def _entry(f: _File, row: int, gray: bool, reason: str) -> dict[str, Any]:
    """A file's line of ``index.json``: its row (-1: skipped, and why)."""
    return {
        "path": f.path,
        "size": f.size,
        "mtime_ns": f.mtime_ns,
        "row": row,
        "gray": gray,
        "reason": reason,
    }


def _unchanged(entry: dict[str, Any] | None, f: _File) -> bool:
    return entry is not None and entry["size"] == f.size and entry["mtime_ns"] == f.mtime_ns


def _decode_all(
    root: Path, files: list[_File], options: DecodeOptions, workers: int | None
) -> Iterator[tuple[bytes | None, bool, str]]:
    """``(pixels, gray, skip reason)`` per file, in order, decoded in parallel threads
    (Pillow releases the GIL while it decodes and resizes)."""
    from gankit.data.progress import progress_bar

    def one(f: _File) -> tuple[bytes | None, bool, str]:
        try:
            array, gray = decode_image(root / f.path, options)
            return array.tobytes(), gray, ""
        except SkippedFile as exc:
            return None, False, str(exc)

    if not files:
        return
    with (
        ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool,
        progress_bar("decoding images", len(files)) as advance,
    ):
        for start in range(0, len(files), CHUNK):
            for result in pool.map(one, files[start : start + CHUNK]):
                advance(1)
                yield result
