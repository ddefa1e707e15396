"""Translating picture files with a translation run (``gankit translate``).

A run of a translation scheme (``cyclegan``, ``cut``, ``pix2pix``) records, in
``run.json``, its roles with their specs; a direction ``a2b`` / ``b2a`` is the role
exported as ``generator_a2b`` / ``generator_b2a`` (pix2pix's one ``generator`` is
``a2b``). Each input file is decoded as the training folders were (any mode, EXIF
orientation, centre crop, resized to the run's size; one channel when the run's
source domain has one) and its translation written as a PNG named after it. Files
that cannot be read are skipped and listed, never fatal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gankit.data.decode import DecodeOptions, SkippedFile, decode_image
from gankit.data.folder import IMAGE_EXTENSIONS
from gankit.errors import UsageError
from gankit.io.images import save_png, to_uint8
from gankit.plugin.registry import Registry
from gankit.run.models import load_network
from gankit.run.rundir import RunDir

__all__ = ["DIRECTIONS", "Translation", "translation_role", "collect_inputs", "translate_files"]

DIRECTIONS = ("a2b", "b2a")
BATCH = 32


@dataclass
class Translation:
    """What ``translate_files`` did: the files written and the inputs skipped (with why)."""

    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def translation_role(run: RunDir, direction: str) -> str:
    """The role of ``run`` that translates in ``direction``; ``UsageError`` for a run
    that does not translate (or not that way)."""
    if direction not in DIRECTIONS:
        raise UsageError(f"--direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    info = run.read_run_info()
    roles = {
        name: r for name, r in info.get("roles", {}).items() if r.get("spec", {}).get("translation")
    }
    if not roles:
        scheme = info.get("scheme", "gan")
        raise UsageError(
            f"{run.path} is not a translation run (scheme {scheme}); generate from it with "
            "`gankit sample` (or `gankit transfer` for a content,style run)"
        )
    exported = {r.get("export"): name for name, r in roles.items()}
    if f"generator_{direction}" in exported:
        return exported[f"generator_{direction}"]
    if direction == "a2b" and len(roles) == 1:
        return next(iter(roles))
    raise UsageError(
        f"{run.path} (scheme {info.get('scheme')}) translates "
        f"{' and '.join(d for d in DIRECTIONS if f'generator_{d}' in exported) or 'a2b'} only"
    )


def collect_inputs(paths: list[str]) -> tuple[list[tuple[Path, Path]], list[tuple[Path, str]]]:
    """``(file, name relative to its input)`` for every file of ``paths`` (a folder's
    files recursively, hidden ones left out), and the non-image files found in folders,
    skipped."""
    found, skipped = [], []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                rel = file.relative_to(path)
                if any(part.startswith(".") for part in rel.parts):
                    continue
                if file.suffix.lower() in IMAGE_EXTENSIONS:
                    found.append((file, rel))
                else:
                    skipped.append((file, "not an image file"))
        elif path.is_file():
            found.append((path, Path(path.name)))
        else:
            raise UsageError(f"no such input file or folder: {path}")
    if not found and not skipped:
        raise UsageError("no input files (folders given are empty)")
    return found, skipped


def _targets(inputs: list[tuple[Path, Path]], out: Path) -> list[Path]:
    """``out/<name>.png`` for each input, numbered where two names would collide."""
    names = [rel.with_suffix(".png") for _, rel in inputs]
    seen: dict[Path, int] = {}
    targets = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        targets.append(out / (name if not count else name.with_name(f"{name.stem}-{count}.png")))
    return targets


def translate_files(
    run: RunDir,
    registry: Registry,
    found: tuple[list[tuple[Path, Path]], list[tuple[Path, str]]],
    out: Path,
    *,
    direction: str = "a2b",
    advance: Callable[[int], None] | None = None,
) -> Translation:
    """Translate every picture :func:`collect_inputs` ``found`` in ``direction``; write
    one PNG per input under ``out``."""
    role = translation_role(run, direction)
    inputs, skipped = found
    targets = _targets(inputs, out)
    network, _ = load_network(run, registry, role=role)
    _, size, _, channels = tuple(network.inputs[0].shape)
    options = DecodeOptions(int(size), min_size=1)
    result = Translation(skipped=list(skipped))
    for start in range(0, len(inputs), BATCH):
        chunk, pixels = [], []
        for (file, _), target in zip(inputs[start : start + BATCH], targets[start : start + BATCH]):
            try:
                array, _ = decode_image(file, options)
            except SkippedFile as exc:
                result.skipped.append((file, str(exc)))
                continue
            chunk.append(target)
            pixels.append(_as_channels(array, int(channels)))
        if chunk:
            translated = np.asarray(network(np.stack(pixels), training=False))
            for target, image in zip(chunk, translated):
                target.parent.mkdir(parents=True, exist_ok=True)
                save_png(to_uint8(image[None])[0], target)
                result.written.append(target)
        if advance is not None:
            advance(len(inputs[start : start + BATCH]))
    return result


def _as_channels(array: np.ndarray, channels: int) -> Any:
    """uint8 RGB as float32 in [-1, 1] with ``channels`` channels (1: ITU-R 601 luma)."""
    image = array.astype(np.float32) / 127.5 - 1.0
    if channels == 1:
        image = image @ np.array([0.299, 0.587, 0.114], np.float32)
        return image[..., None]
    return image
