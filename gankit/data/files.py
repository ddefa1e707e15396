"""Finding, downloading and reading data files.

Search order for a file: the data directory (``--data-dir`` / ``GANKIT_DATA_DIR``),
then the download cache (Keras's ``~/.keras/datasets``), then a download through
``keras.utils.get_file`` with its sha256 checked. Without the file and without a
network the error names the files and ``GANKIT_DATA_DIR`` in one line, quickly.

Every reader turns a truncated or malformed file into a ``DataError`` naming the file.
"""

from __future__ import annotations

import io
import os
import pickle
import socket
import tarfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gankit.errors import DataError
from gankit.types import DataContext

__all__ = [
    "RemoteFile",
    "find_data_file",
    "fetch",
    "missing_data_message",
    "read_npz",
    "read_pickle_members",
    "read_pickle_file",
    "user_cache_dir",
]

DOWNLOAD_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class RemoteFile:
    """A file gankit can download: its cache name, URL and hash.

    ``file_hash`` is a sha256, or an md5 where that is all the publisher gives (Keras's
    application weights); ``keras.utils.get_file`` tells them apart by length.
    """

    filename: str
    origin: str
    file_hash: str


def user_cache_dir() -> Path:
    """gankit's own cache: ``GANKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/gankit``, else
    ``~/.cache/gankit`` (metric classifiers, decoded image folders)."""
    if os.environ.get("GANKIT_CACHE_DIR"):
        return Path(os.environ["GANKIT_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gankit"


def find_data_file(context: DataContext, names: Sequence[str]) -> Path | None:
    """The first of ``names`` (relative paths) found in the data dir, then the cache."""
    for folder in _search_dirs(context):
        for name in names:
            candidate = folder / name
            if candidate.exists():
                return candidate
    return None


def fetch(context: DataContext, remote: RemoteFile, subdir: str | None = None) -> Path:
    """Download ``remote`` into the cache (hash-checked); ``DataError`` on failure.

    ``subdir`` is a sibling of the dataset cache (``models`` for model weights).
    """
    if not context.allow_download:
        raise DataError("downloads are disabled (GANKIT_OFFLINE=1)")
    from keras.utils import get_file

    cache_dir = context.cache_dir if subdir is None else context.cache_dir.parent / subdir
    cache_dir.mkdir(parents=True, exist_ok=True)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        path = get_file(
            fname=remote.filename,
            origin=remote.origin,
            file_hash=remote.file_hash,
            cache_dir=str(cache_dir.parent),
            cache_subdir=cache_dir.name,
        )
    except Exception as exc:  # URLError, timeouts, hash mismatch: all mean "not available"
        partial = cache_dir / remote.filename
        if partial.is_file():
            partial.unlink(missing_ok=True)
        reason = str(getattr(exc, "reason", "") or exc).strip().splitlines()
        raise DataError(
            f"download of {remote.origin} failed: {reason[0] if reason else exc}"
        ) from None
    finally:
        socket.setdefaulttimeout(previous)
    return Path(path)


def missing_data_message(what: str, files: Iterable[str], context: DataContext, why: str) -> str:
    """One line: which files are missing, where gankit looked, how to provide them."""
    looked = ", ".join(str(d) for d in _search_dirs(context))
    names = " or ".join(files)
    return (
        f"{what} not found: put {names} in a folder and set GANKIT_DATA_DIR to it "
        f"(or pass --data-dir); looked in {looked}; {why}"
    )


def read_npz(path: Path, arrays: dict[str, tuple[int | None, ...]]) -> dict[str, np.ndarray]:
    """Read ``arrays`` (name -> expected shape, None for any size) from an ``.npz`` file."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in arrays if k not in archive.files]
            if missing:
                raise DataError(
                    f"{path} is not in the expected layout: missing {', '.join(missing)}"
                )
            out = {k: archive[k] for k in arrays}
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise DataError(
            f"{path} is truncated or not a valid .npz file ({_first_line(exc)})"
        ) from None
    for key, shape in arrays.items():
        _check_shape(path, key, out[key], shape)
    return out


def read_pickle_members(path: Path, members: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Unpickle ``members`` (by base name) of a ``.tar.gz``; only numpy data is allowed."""
    found: dict[str, dict[str, Any]] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for info in tar:
                base = info.name.rsplit("/", 1)[-1]
                if base in members and info.isfile():
                    fh = tar.extractfile(info)
                    assert fh is not None
                    found[base] = _restricted_load(fh.read(), path)
    except DataError:
        raise
    except (OSError, EOFError, tarfile.TarError, pickle.UnpicklingError, ValueError) as exc:
        raise DataError(
            f"{path} is truncated or not a valid archive ({_first_line(exc)})"
        ) from None
    missing = [m for m in members if m not in found]
    if missing:
        raise DataError(f"{path} lacks {', '.join(missing)}")
    return found


def read_pickle_file(path: Path) -> dict[str, Any]:
    """Unpickle one file (only numpy data allowed); ``DataError`` on a bad file."""
    try:
        return _restricted_load(path.read_bytes(), path)
    except DataError:
        raise
    except (OSError, EOFError, pickle.UnpicklingError, ValueError) as exc:
        raise DataError(f"{path} is truncated or not a valid pickle ({_first_line(exc)})") from None


class _NumpyOnlyUnpickler(pickle.Unpickler):
    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _restricted_load(data: bytes, path: Path) -> dict[str, Any]:
    obj = _NumpyOnlyUnpickler(io.BytesIO(data), encoding="bytes").load()
    if not isinstance(obj, dict):
        raise DataError(f"{path}: unexpected pickle content {type(obj).__name__}")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _check_shape(path: Path, key: str, array: np.ndarray, shape: tuple[int | None, ...]) -> None:
    if array.ndim != len(shape) or any(
        e is not None and e != a for e, a in zip(shape, array.shape)
    ):
        want = "(" + ", ".join("N" if e is None else str(e) for e in shape) + ")"
        raise DataError(f"{path}: `{key}` has shape {array.shape}, expected {want}")


def _search_dirs(context: DataContext) -> list[Path]:
    dirs = [context.data_dir] if context.data_dir is not None else []
    return dirs + [context.cache_dir]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
