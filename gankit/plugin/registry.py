"""The component registry: named factories per family, with their options.

A component's options are the keyword-only parameters of its factory. They are
validated (and strings from the command line coerced) before any model is built.
"""

from __future__ import annotations

import difflib
import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from gankit.errors import DuplicateComponentError, OptionError, UnknownComponentError

__all__ = ["FAMILIES", "SINGULAR", "Option", "Component", "Registry", "RegisterFn"]

FAMILIES: tuple[str, ...] = ("generators", "discriminators", "losses", "datasets", "metrics")
# "generators" -> "generator": the word used in flags, `-o` prefixes and messages.
SINGULAR: dict[str, str] = {family: family.rstrip("s") for family in FAMILIES}
SINGULAR["losses"] = "loss"

_MISSING = object()


class RegisterFn(Protocol):
    """The callback a hook receives: ``register(name, factory, *, summary=None)``."""

    def __call__(self, name: str, factory: Callable[..., Any], *, summary: str | None = None) -> None: ...


@dataclass(frozen=True)
class Option:
    """One option of a component: a keyword-only parameter of its factory."""

    name: str
    default: Any
    annotation: Any  # a type, typing.Literal[...], Optional[...] or None when unknown

    @property
    def required(self) -> bool:
        return self.default is _MISSING

    def type_name(self) -> str:
        ann = self.annotation
        if ann is None:
            return "any"
        return getattr(ann, "__name__", None) or str(ann).replace("typing.", "")

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


@dataclass(frozen=True)
class Component:
    """A registered component: its family, name, factory and metadata."""

    family: str
    name: str
    factory: Callable[..., Any]
    summary: str
    plugin: str
    options: tuple[Option, ...] = field(default=())

    def option_defaults(self) -> dict[str, Any]:
        return {o.name: (None if o.required else o.default) for o in self.options}

    def validate_options(self, given: dict[str, Any]) -> dict[str, Any]:
        """Check ``given`` against the options; return defaults updated with coerced values."""
        by_name = {o.name: o for o in self.options}
        resolved: dict[str, Any] = {}
        for key, value in given.items():
            if key not in by_name:
                valid = ", ".join(sorted(by_name)) or "none"
                raise OptionError(
                    f"unknown option `{key}` for {SINGULAR[self.family]} '{self.name}' "
                    f"(valid options: {valid})"
                )
            resolved[key] = by_name[key].coerce(value)
        for option in self.options:
            if option.name not in resolved:
                if option.required:
                    raise OptionError(
                        f"{SINGULAR[self.family]} '{self.name}' needs option `{option.name}`"
                    )
                resolved[option.name] = option.default
        return resolved

    def build(self, *args: Any, **options: Any) -> Any:
        """Validate ``options`` and call the factory with them."""
        return self.factory(*args, **self.validate_options(options))


def options_of(factory: Callable[..., Any]) -> tuple[Option, ...]:
    """The keyword-only parameters of ``factory`` as options (annotations resolved)."""
    try:
        hints = typing.get_type_hints(factory)
    except Exception:  # unresolvable forward references: fall back to the default's type
        hints = {}
    options = []
    for param in inspect.signature(factory).parameters.values():
        if param.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        default = _MISSING if param.default is inspect.Parameter.empty else param.default
        annotation = hints.get(param.name)
        if annotation is None and default not in (_MISSING, None):
            annotation = type(default)
        options.append(Option(param.name, default, annotation))
    return tuple(options)


class Registry:
    """Components by family and name."""

    def __init__(self) -> None:
        self._components: dict[str, dict[str, Component]] = {f: {} for f in FAMILIES}

    def register(
        self,
        family: str,
        name: str,
        factory: Callable[..., Any],
        *,
        summary: str | None = None,
        plugin: str = "<unknown>",
    ) -> Component:
        """Add a component. A name already taken in ``family`` raises, naming both plugins."""
        if family not in self._components:
            raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")
        if not isinstance(name, str) or not name:
            raise TypeError(f"a component name must be a non-empty string, got {name!r}")
        if not callable(factory):
            raise TypeError(f"the factory of {SINGULAR[family]} '{name}' is not callable")
        existing = self._components[family].get(name)
        if existing is not None:
            raise DuplicateComponentError(
                f"{SINGULAR[family]} '{name}' is registered by both plugin "
                f"'{existing.plugin}' and plugin '{plugin}'"
            )
        if summary is None:
            doc = inspect.getdoc(factory) or ""
            summary = doc.strip().splitlines()[0] if doc.strip() else ""
        component = Component(family, name, factory, summary, plugin, options_of(factory))
        self._components[family][name] = component
        return component

    def get(self, family: str, name: str) -> Component:
        """The component ``name`` of ``family``; unknown names raise with a close match."""
        components = self._components[family]
        if name in components:
            return components[name]
        available = sorted(components)
        message = f"unknown {SINGULAR[family]} '{name}'"
        close = difflib.get_close_matches(name, available, n=1, cutoff=0.6)
        if close:
            message += f" (did you mean '{close[0]}'?)"
        message += f"; available: {', '.join(available) if available else 'none'}"
        raise UnknownComponentError(message)

    def names(self, family: str) -> list[str]:
        return sorted(self._components[family])

    def components(self, family: str | None = None) -> list[Component]:
        families = FAMILIES if family is None else (family,)
        return [c for f in families for _, c in sorted(self._components[f].items())]

    def __contains__(self, key: tuple[str, str]) -> bool:
        family, name = key
        return name in self._components.get(family, {})


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
    if annotation is str:
        if isinstance(value, str):
            return value
        raise ValueError("not a string")
    if isinstance(annotation, type):
        if isinstance(value, annotation):
            return value
        if isinstance(value, str):
            return annotation(value)
        raise ValueError(f"not a {annotation.__name__}")
    return value
