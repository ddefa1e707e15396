"""TOML: reading with ``tomllib`` (``tomli`` before Python 3.11), writing with ``tomli-w``."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from gankit.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["load_toml", "read_toml_file", "loads_toml", "dumps_toml"]


def load_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file. Raises ``OSError`` or ``ValueError`` (with the position)."""
    with open(path, "rb") as fh:
        try:
            return tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(str(exc)) from None


def read_toml_file(path: str | Path, what: str) -> dict[str, Any]:
    """Parse a user-supplied TOML file; unreadable or invalid files raise ``ConfigError``."""
    try:
        return load_toml(path)
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{what} {path} is not valid TOML: {exc}") from None


def loads_toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(str(exc)) from None


def dumps_toml(data: Mapping[str, Any]) -> str:
    """``data`` as TOML; ``None`` values are left out (TOML has no null)."""
    return tomli_w.dumps(_without_none(data))


def _without_none(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: _without_none(value) if isinstance(value, Mapping) else value
        for key, value in data.items()
        if value is not None
    }
