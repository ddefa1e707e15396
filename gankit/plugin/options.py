"""A component's options: the keyword-only parameters of its factory, and the rules a
factory's signature must follow to be registered.

Options are validated, and strings from the command line coerced to the annotated
type, before any model is built.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from gankit.errors import OptionError

__all__ = ["Option", "options_of", "signature_problem", "POSITIONAL"]

# How many positional parameters each family's factory takes (the hook specs say which).
POSITIONAL = {
    "generators": ("spec",),
    "discriminators": ("spec",),
    "datasets": ("context",),
    "losses": (),
    "penalties": (),
    "metrics": (),
    "schemes": ("context",),
    "loggers": ("context",),
}


@dataclass(frozen=True)
class Option:
    """One option of a component: a keyword-only parameter of its factory."""

    name: str
    default: Any
    annotation: Any  # a type, typing.Literal[...], Optional[...] or None when unknown

    def type_name(self) -> str:
        return _type_name(self.annotation)

    def coerce(self, value: Any) -> Any:
        """Return ``value`` converted to this option's type, or raise ``OptionError``.

        Strings (from ``-o key=value``) are parsed; other values are checked.
        """
        try:
            return _coerce(self.annotation, value)
        except (TypeError, ValueError) as exc:
            raise OptionError(
                f"option `{self.name}` expects {self.type_name()}, got {value!r} ({exc})"
            ) from None


def _type_name(ann: Any) -> str:
    """``int``, ``int | 'auto'``, ``'crop' | 'pad'``, ``Path | None``: as a user reads it."""
    if ann is None or ann is Any:
        return "any"
    if ann is type(None):
        return "None"
    origin = typing.get_origin(ann)
    if origin is typing.Literal:
        return " | ".join(repr(c) for c in typing.get_args(ann))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(ann))
    return getattr(ann, "__name__", None) or str(ann).replace("typing.", "")


def options_of(factory: Callable[..., Any]) -> tuple[Option, ...]:
    """The keyword-only parameters of ``factory`` as options (annotations resolved; a
    class's from its ``__init__``)."""
    try:
        hints = typing.get_type_hints(factory.__init__ if inspect.isclass(factory) else factory)
    except Exception:  # unresolvable forward references: fall back to the default's type
        hints = {}
    options = []
    for param in inspect.signature(factory).parameters.values():
        if param.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        annotation = hints.get(param.name)
        if annotation is None and param.default is not None:
            annotation = type(param.default)
        options.append(Option(param.name, param.default, annotation))
    return tuple(options)


def signature_problem(family: str, factory: Callable[..., Any]) -> str | None:
    """What is wrong with ``factory``'s signature for ``family``, or None.

    The rule: exactly the positional parameters the hook spec names (``spec`` for
    models, ``context`` for datasets, none for losses, penalties and metrics), then
    options, keyword-only, each with a default; no ``*args`` or ``**kwargs``.
    """
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return "its signature cannot be read"
    expected = POSITIONAL[family]
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    shape = f"({', '.join([*expected, '*', 'option=default, ...'])})"
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            stars = "*" if p.kind is p.VAR_POSITIONAL else "**"
            return f"`{stars}{p.name}` is not allowed; a factory is {shape}"
        if p.kind is p.KEYWORD_ONLY and p.default is p.empty:
            return f"option `{p.name}` needs a default; a factory is {shape}"
    if len(positional) != len(expected):
        extra = [p.name for p in positional[len(expected) :]]
        if extra:
            return (
                f"parameter `{extra[0]}` must be keyword-only with a default "
                f"(put it after `*`); a factory is {shape}"
            )
        return (
            f"it takes {len(positional)} positional parameter(s), the hook spec passes "
            f"{len(expected)}: {shape}"
        )
    return None


def _coerce_path(value: Any) -> Path:
    """A path option, made absolute: the run stores it so, and a resume may run elsewhere."""
    if isinstance(value, (str, PurePath)) and str(value):
        return Path(value).expanduser().resolve()
    raise ValueError("not a path")


def _coerce(annotation: Any, value: Any) -> Any:
    if annotation is None or annotation is Any:
        return value
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        choices = typing.get_args(annotation)
        for choice in choices:
            if value == choice or (isinstance(value, str) and str(choice) == value):
                return choice
        raise ValueError(f"choose one of {', '.join(repr(c) for c in choices)}")
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value)
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise ValueError("; ".join(errors) or "no matching type")
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
            return False
        raise ValueError("not a boolean")
    if annotation is int:
        if isinstance(value, bool):
            raise ValueError("not an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            return int(value)
        raise ValueError("not an integer")
    if annotation is float:
        if isinstance(value, bool):
            raise ValueError("not a number")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            return float(value)
        raise ValueError("not a number")
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return _coerce_path(value)
    if isinstance(annotation, type):
        if annotation is str and not isinstance(value, str):
            raise ValueError("not a string")
        if isinstance(value, annotation):
            return value
        if isinstance(value, str):
            return annotation(value)
        raise ValueError(f"not a {annotation.__name__}")
    return value
