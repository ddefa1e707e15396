"""Callbacks and experiment loggers: code that hears what a run does.

A **callback** (:class:`Callback`, passed to ``gankit.train(callbacks=[...])``) and a
**logger** (a ``loggers`` plugin, ``--logger NAME``) implement any of the same methods,
with Keras's names where they fit:

- ``on_train_begin(run)``: the run directory is written (``config.toml``, ``run.json``)
  and no step of this process has run; ``run`` is a :class:`gankit.run.rundir.RunDir`;
- ``on_step_end(step, logs)``: at each logging step, ``logs`` the ``metrics.jsonl`` row
  (``step``, the losses, ``images_per_sec``, the terms' scalars, ``elapsed_s``);
- ``on_sample(step, grid)``: a sample grid was written (``grid``: uint8 (H, W, 3));
- ``on_checkpoint(step, path)``: a checkpoint was written;
- ``on_export(role, path)``: a network was exported (``path``: its ``.keras`` file);
- ``on_train_end(status)``: ``finished``, ``interrupted`` or ``failed``; called last,
  whatever happened.

They differ in what a failure does. A callback is the user's own code: an exception in
it ends the run (``status: failed``, the checkpoints kept) with one line naming it. A
logger is a side channel: one that fails to start (its factory or ``on_train_begin``)
stops the run before any step with one line naming it; one that fails later is warned
about once and left out for the rest of the run, which goes on.

Only the chief of a multi-worker job calls them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gankit.errors import CallbackError, ConfigError, GankitError, PluginCodeError, describe

__all__ = ["Callback", "EVENTS", "Listeners"]

EVENTS = (
    "on_train_begin",
    "on_step_end",
    "on_sample",
    "on_checkpoint",
    "on_export",
    "on_train_end",
)


class Callback:
    """Base class of callbacks: every method does nothing; override what you need."""

    def on_train_begin(self, run: Any) -> None:
        pass

    def on_step_end(self, step: int, logs: Mapping[str, Any]) -> None:
        pass

    def on_sample(self, step: int, grid: np.ndarray) -> None:
        pass

    def on_checkpoint(self, step: int, path: Path) -> None:
        pass

    def on_export(self, role: str, path: Path) -> None:
        pass

    def on_train_end(self, status: str) -> None:
        pass


@dataclass
class _Listener:
    target: Any
    label: str  # "callback 'MyCallback'" or "logger 'mlflow'"
    is_logger: bool
    failed: bool = False


class Listeners:
    """The run's callbacks and loggers, called in order (loggers first)."""

    def __init__(
        self,
        loggers: Iterable[tuple[str, Any]] = (),
        callbacks: Iterable[Any] = (),
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self._all = [_Listener(obj, f"logger '{name}'", True) for name, obj in loggers]
        for cb in callbacks:
            if not any(callable(getattr(cb, e, None)) for e in EVENTS):
                raise ConfigError(
                    f"callback {type(cb).__name__!r} has none of the methods "
                    f"{', '.join(EVENTS)} (subclass gankit.Callback)"
                )
            self._all.append(_Listener(cb, f"callback '{type(cb).__name__}'", False))
        self._warn = warn or (lambda text: None)

    def begin(self, run: Any) -> None:
        """``on_train_begin``: a logger that fails here stops the run (ConfigError)."""
        for listener in self._all:
            method = getattr(listener.target, "on_train_begin", None)
            if method is None:
                continue
            try:
                method(run)
            except Exception as exc:
                if listener.is_logger:
                    raise CallbackError(
                        f"{listener.label} failed to start: {describe(exc)}"
                    ) from exc
                raise CallbackError(
                    f"{listener.label} failed in on_train_begin: {describe(exc)}"
                ) from exc

    def __getattr__(self, event: str) -> Callable[..., None]:
        if event not in EVENTS or event == "on_train_begin":
            raise AttributeError(event)
        return lambda *args: self._call(event, args)

    def _call(self, event: str, args: tuple[Any, ...]) -> None:
        for listener in self._all:
            method = getattr(listener.target, event, None)
            if method is None or listener.failed:
                continue
            try:
                method(*args)
            except Exception as exc:
                if not listener.is_logger and event != "on_train_end":
                    raise CallbackError(
                        f"{listener.label} failed in {event}: {describe(exc)}"
                    ) from exc
                listener.failed = True
                self._warn(
                    f"{listener.label} failed in {event} ({describe(exc)}); the run goes on "
                    "without it"
                )

    def close(self) -> None:
        """Each logger's ``close()``, if it has one (errors warned about, not raised)."""
        for listener in self._all:
            close = getattr(listener.target, "close", None) if listener.is_logger else None
            if close is None:
                continue
            try:
                close()
            except Exception as exc:
                self._warn(f"{listener.label} failed to close ({describe(exc)})")


def build_listeners(
    config: Any,
    registry: Any,
    run_dir: Path,
    start_step: int,
    callbacks: Iterable[Any] = (),
    warn: Callable[[str], None] | None = None,
) -> Listeners:
    """The run's loggers (built from the registry: a factory that raises is one line
    naming the logger) and the user's callbacks."""
    from gankit.run.resolve import logger_selection
    from gankit.types import LoggerContext

    context = LoggerContext(Path(run_dir), config.to_dict(), start_step)
    loggers = []
    for component, options in logger_selection(config, registry):
        try:
            loggers.append((component.name, component.create(context, **options)))
        except Exception as exc:
            cause = exc.error if isinstance(exc, PluginCodeError) else exc
            reason = str(cause) if isinstance(cause, GankitError) else describe(cause)
            raise CallbackError(
                f"logger '{component.name}' (plugin '{component.plugin}') failed to start: {reason}"
            ) from exc
    return Listeners(loggers, callbacks, warn)
