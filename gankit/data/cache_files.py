"""The files of an image folder's cache (:mod:`gankit.data.folder`): the rows file read
with ``pread``, and ``index.json`` / ``skipped.txt`` beside it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gankit.io.files import atomic_write_text

__all__ = ["PreviousRows", "pread_row", "read_index", "write_index"]


class PreviousRows:
    """Rows of the previous cache file (absent: none)."""

    def __init__(self, path: Path | None) -> None:
        self.path, self.fd = path, None

    def __enter__(self) -> PreviousRows:
        if self.path is not None and self.path.is_file():
            self.fd = os.open(self.path, os.O_RDONLY)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            os.close(self.fd)

    def row(self, row: int, row_bytes: int) -> bytes:
        data = pread_row(self.fd, row, row_bytes) if self.fd is not None else None
        if data is None:
            raise OSError(f"the previous cache file {self.path} is truncated")
        return data


def pread_row(fd: int, row: int, row_bytes: int) -> bytes | None:
    """Row ``row`` of a cache file (None: the file is shorter)."""
    data = os.pread(fd, row_bytes, row * row_bytes)
    return data if len(data) == row_bytes else None


def read_index(cache_dir: Path, ident: dict[str, Any]) -> dict[str, Any] | None:
    """The cache's index if it is intact and for these options (else None: rebuild)."""
    try:
        index = json.loads((cache_dir / "index.json").read_text())
        data = cache_dir / index["data_file"]
        side = index["options"]["size"]
        if {k: index.get(k) for k in ident} != ident or data.stat().st_size != index[
            "rows"
        ] * side * side * 3:
            return None
        return index
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_index(cache_dir: Path, index: dict[str, Any], old_data: Path | None) -> None:
    skipped = [f"{e['path']}: {e['reason']}" for e in index["entries"] if e["row"] < 0]
    atomic_write_text(cache_dir / "skipped.txt", "".join(line + "\n" for line in skipped))
    atomic_write_text(cache_dir / "index.json", json.dumps(index) + "\n")
    if old_data is not None and old_data.name != index["data_file"]:
        old_data.unlink(missing_ok=True)
