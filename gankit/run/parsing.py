"""Parsing what users type: ``-o family.option=value`` overrides, ``--condition`` lists
and ``--augment`` transforms. Values stay text here; components coerce their options."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gankit.errors import ConfigError
from gankit.plugin.registry import SINGULAR

__all__ = [
    "OPTION_FAMILIES",
    "AUGMENTATIONS",
    "parse_augment",
    "parse_condition",
    "parse_overrides",
]

# `-o family.option=value` prefixes, mapped to registry families.
OPTION_FAMILIES: dict[str, str] = {single: family for family, single in SINGULAR.items()}
AUGMENTATIONS = (
    "translation",
    "color",
    "cutout",
)  # DiffAugment's transforms (gankit.training.augment)


def parse_augment(value: str) -> tuple[str, ...]:
    """``"translation,color"`` → ``("translation", "color")``; ``"none"`` or ``""`` → ``()``.

    Raises ``ValueError`` naming an unknown transform.
    """
    names = [v.strip() for v in value.split(",") if v.strip()]
    if names in ([], ["none"]):
        return ()
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(
            f"unknown augmentation {unknown[0]!r} (choose from {', '.join(AUGMENTATIONS)}, or none)"
        )
    return tuple(dict.fromkeys(names))


def parse_condition(value: Any) -> list[str] | None:
    """``"content,style"`` / ``["content", "style"]`` → list; ``"none"`` → []; None → None."""
    if value is None:
        return None
    if isinstance(value, str):
        if value.strip().lower() in ("none", ""):
            return []
        value = value.split(",")
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"`condition` must be a comma-separated list of names, got {value!r}")
    names = [v.strip() for v in value if v.strip()]
    return [] if names == ["none"] else names


def parse_overrides(
    items: Iterable[str], allowed: Iterable[str] = tuple(OPTION_FAMILIES)
) -> dict[str, dict[str, Any]]:
    """``["generator.width=128"]`` → ``{"generator": {"width": "128"}}`` (values stay strings)."""
    allowed = tuple(allowed)
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        family, dot, option = key.strip().partition(".")
        if not sep or not dot or not option:
            raise ConfigError(
                f"bad override `{item}`: expected family.option=value, e.g. generator.width=128"
            )
        if family not in allowed:
            raise ConfigError(f"bad override `{item}`: family must be one of {', '.join(allowed)}")
        out.setdefault(family, {})[option] = value
    return out
