"""The component registry: named factories per family, with their options, declared
training settings and the plugin that registered them.

A component's options are the keyword-only parameters of its factory
(:mod:`gankit.plugin.options`). Everything a plugin's code does on gankit's behalf —
building a component, a loss or metric computing — goes through
:meth:`Component.calling`, so a failure names the component and its plugin.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from gankit.errors import (
    DuplicateComponentError,
    GankitError,
    OptionError,
    PluginCodeError,
    PluginError,
    UnknownComponentError,
)
from gankit.plugin.options import Option, options_of, signature_problem
from gankit.types import TrainingDefaults

__all__ = ["FAMILIES", "SINGULAR", "family_name", "Option", "Component", "Registry", "RegisterFn"]

FAMILIES: tuple[str, ...] = (
    "schemes",
    "generators",
    "discriminators",
    "losses",
    "penalties",
    "datasets",
    "metrics",
    "loggers",
)
# "generators" -> "generator": the word used in flags, `-o` prefixes and messages.
SINGULAR: dict[str, str] = {family: family.rstrip("s") for family in FAMILIES}
SINGULAR.update(losses="loss", penalties="penalty")


def family_name(family: str) -> str:
    """``family`` as a registry family: ``"discriminator"`` and ``"discriminators"`` both
    give ``"discriminators"``; anything else raises ``UsageError``."""
    for plural, single in SINGULAR.items():
        if family in (plural, single):
            return plural
    raise UnknownComponentError(
        f"unknown component family '{family}'; families: {', '.join(FAMILIES)}"
    )


class RegisterFn(Protocol):
    """The callback a hook receives: ``register(name, factory, *, summary=None, training=None)``."""

    def __call__(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        summary: str | None = None,
        training: TrainingDefaults | Mapping[str, Any] | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class Component:
    """A registered component: its family, name, factory and metadata."""

    family: str
    name: str
    factory: Callable[..., Any]
    summary: str
    plugin: str
    options: tuple[Option, ...] = field(default=())
    training: TrainingDefaults = field(default_factory=TrainingDefaults)

    @property
    def label(self) -> str:
        """``loss 'wgan-gp'``: how messages name the component."""
        return f"{SINGULAR[self.family]} '{self.name}'"

    def option_defaults(self) -> dict[str, Any]:
        return {o.name: o.default for o in self.options}

    def validate_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``given`` against the options; return defaults updated with coerced values."""
        by_name = {o.name: o for o in self.options}
        resolved: dict[str, Any] = {}
        for key, value in given.items():
            if key not in by_name:
                valid = ", ".join(sorted(by_name)) or "none"
                raise OptionError(
                    f"unknown option `{key}` for {self.label} (valid options: {valid})"
                )
            resolved[key] = by_name[key].coerce(value)
        return {o.name: resolved.get(o.name, o.default) for o in self.options}

    def create(self, *args: Any, **options: Any) -> Any:
        """Validate ``options`` (as the CLI does) and call the factory with them."""
        resolved = self.validate_options(options)
        with self.calling("factory"):
            return self.factory(*args, **resolved)

    @contextlib.contextmanager
    def calling(self, what: str) -> Iterator[None]:
        """Run plugin code: an exception becomes a ``PluginCodeError`` naming the component,
        its plugin and ``what`` raised; gankit's own errors pass as they are."""
        try:
            yield
        except GankitError:
            raise
        except Exception as exc:
            raise PluginCodeError(SINGULAR[self.family], self.name, self.plugin, what, exc) from exc


class Registry:
    """Components by family and name."""

    def __init__(self) -> None:
        self._components: dict[str, dict[str, Component]] = {f: {} for f in FAMILIES}
        self.failed_plugins: dict[str, str] = {}  # plugin name -> error, for unknown-name messages

    def remove_plugin(self, plugin: str) -> None:
        """Forget every component ``plugin`` registered (a notebook cell run again)."""
        for family in self._components.values():
            for name in [n for n, c in family.items() if c.plugin == plugin]:
                del family[name]

    def register(
        self,
        family: str,
        name: str,
        factory: Callable[..., Any],
        *,
        summary: str | None = None,
        plugin: str = "<unknown>",
        training: TrainingDefaults | Mapping[str, Any] | None = None,
    ) -> Component:
        """Add a component after checking it follows the registration rules.

        A name already taken in ``family`` raises ``DuplicateComponentError`` naming both
        plugins; a factory whose signature breaks the rules, or a bad ``training``
        declaration, raises ``PluginError`` naming the component.
        """
        if family not in self._components:
            raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")
        if not isinstance(name, str) or not name:
            raise PluginError(f"a component name must be a non-empty string, got {name!r}")
        label = f"{SINGULAR[family]} '{name}'"
        if not callable(factory):
            raise PluginError(f"{label}: the factory is not callable")
        problem = signature_problem(family, factory)
        if problem:
            raise PluginError(f"{label}: factory {_signature(factory)}: {problem}")
        existing = self._components[family].get(name)
        if existing is not None:
            raise DuplicateComponentError(
                f"{label} is registered by both plugin '{existing.plugin}' and plugin '{plugin}'"
            )
        if summary is None:
            doc = inspect.getdoc(factory) or ""
            summary = doc.strip().splitlines()[0] if doc.strip() else ""
        component = Component(
            family, name, factory, summary, plugin, options_of(factory), _training(label, training)
        )
        self._components[family][name] = component
        return component

    def get(self, family: str, name: str) -> Component:
        """The component ``name`` of ``family``; unknown names raise with a close match
        and the plugins that failed to load."""
        components = self._components[family]
        if name in components:
            return components[name]
        available = sorted(components)
        message = f"unknown {SINGULAR[family]} '{name}'"
        close = difflib.get_close_matches(name, available, n=1, cutoff=0.6)
        if close:
            message += f" (did you mean '{close[0]}'?)"
        message += f"; available: {', '.join(available) if available else 'none'}"
        if self.failed_plugins:
            failed = "; ".join(
                f"{plugin}: {error}" for plugin, error in self.failed_plugins.items()
            )
            message += f"; plugins that failed to load: {failed}"
        raise UnknownComponentError(message, family, name)

    def names(self, family: str) -> list[str]:
        return sorted(self._components[family])

    def components(self, family: str | None = None) -> list[Component]:
        families = FAMILIES if family is None else (family,)
        return [c for f in families for _, c in sorted(self._components[f].items())]

    def __contains__(self, key: tuple[str, str]) -> bool:
        family, name = key
        return name in self._components.get(family, {})


def _training(
    label: str, training: TrainingDefaults | Mapping[str, Any] | None
) -> TrainingDefaults:
    if training is None:
        return TrainingDefaults()
    if isinstance(training, TrainingDefaults):
        return training
    if not isinstance(training, Mapping):
        raise PluginError(f"{label}: `training` must be a gankit.TrainingDefaults or a mapping")
    valid = set(TrainingDefaults.__dataclass_fields__)
    unknown = sorted(set(training) - valid)
    if unknown:
        raise PluginError(
            f"{label}: unknown training setting `{unknown[0]}` (valid: {', '.join(sorted(valid))})"
        )
    try:
        return TrainingDefaults(**training)
    except ValueError as exc:
        raise PluginError(f"{label}: {exc}") from None


def _signature(factory: Callable[..., Any]) -> str:
    name = getattr(factory, "__qualname__", None) or type(factory).__name__
    try:
        return f"{name}{inspect.signature(factory)}"
    except (TypeError, ValueError):
        return name
