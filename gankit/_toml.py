"""TOML reading (tomllib / tomli) and a small writer for gankit's own flat files."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

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
    from gankit.errors import ConfigError

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


def dumps_toml(data: dict[str, Any]) -> str:
    """Write scalars and lists at the top, then one ``[table]`` per nested dict.

    Supports what gankit writes: str, int, float, bool, lists of those, nested dicts.
    ``None`` values are omitted (TOML has no null).
    """
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif value is not None:
            lines.append(f"{_key(key)} = {_value(value)}")
    out = "".join(line + "\n" for line in lines)
    for key, table in tables:
        out += _table(_key(key), table)
    return out.lstrip("\n") + "\n"


def _table(prefix: str, table: dict[str, Any]) -> str:
    scalars = [(k, v) for k, v in table.items() if not isinstance(v, dict) and v is not None]
    nested = [(k, v) for k, v in table.items() if isinstance(v, dict)]
    out = ""
    if scalars or not nested:
        out += f"\n[{prefix}]\n" + "".join(f"{_key(k)} = {_value(v)}\n" for k, v in scalars)
    for key, sub in nested:
        out += _table(f"{prefix}.{_key(key)}", sub)
    return out


def _key(key: str) -> str:
    if key and all(c.isalnum() or c in "-_" for c in key):
        return key
    return json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
