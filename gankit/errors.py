"""gankit's error classes.

Core code raises these and nothing else for expected failures; only ``gankit.cli``
turns them into one-line messages. ``UsageError`` subclasses mean the user asked for
something invalid (exit 2); every other ``GankitError`` is a runtime failure (exit 1).
"""

from __future__ import annotations

__all__ = [
    "GankitError",
    "UsageError",
    "ConfigError",
    "CallbackError",
    "UnknownComponentError",
    "OptionError",
    "PluginError",
    "DuplicateComponentError",
    "ComponentError",
    "PluginCodeError",
    "DataError",
    "TrainingError",
    "TrainingInterrupted",
    "describe",
]


class GankitError(Exception):
    """Base class of every error gankit raises on purpose."""


class UsageError(GankitError):
    """The user asked for something invalid: a bad name, option or config (exit 2)."""


class ConfigError(UsageError):
    """A run configuration (flags, TOML file, ``-o`` overrides) is invalid."""


class UnknownComponentError(UsageError):
    """No component of that name is registered in that family (``family`` is plural,
    empty for an unknown family)."""

    def __init__(self, message: str, family: str = "", name: str = "") -> None:
        super().__init__(message)
        self.family, self.name = family, name


class OptionError(UsageError):
    """A component option is unknown or has the wrong type."""


class PluginError(GankitError):
    """A plugin could not be loaded or registered its components wrongly."""


class DuplicateComponentError(PluginError):
    """Two plugins registered the same name in one family."""


class ComponentError(GankitError):
    """A registered component broke its contract while gankit used it (exit 1).

    The message names the component and the plugin that registered it:
    ``<family> '<name>' from plugin '<plugin>': <problem>``.
    """

    def __init__(self, family: str, name: str, plugin: str, problem: str) -> None:
        super().__init__(f"{family} '{name}' from plugin '{plugin}': {problem}")
        self.family, self.name, self.plugin = family, name, plugin


class PluginCodeError(ComponentError):
    """Code of a plugin (a factory, a loss, a metric, a dataset) raised an exception.

    ``__cause__`` is the original exception; ``--debug`` shows its traceback.
    """

    def __init__(
        self, family: str, name: str, plugin: str, what: str, error: BaseException
    ) -> None:
        super().__init__(family, name, plugin, f"{what} raised {describe(error)}")
        self.what, self.error = what, error


def describe(error: BaseException) -> str:
    """``Type: first line of the message`` (just ``Type`` when the message is empty)."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__


class DataError(GankitError):
    """A dataset file is missing, truncated or malformed."""


class TrainingError(GankitError):
    """Training cannot continue (non-finite loss, unwritable run directory, ...)."""


class CallbackError(TrainingError):
    """A callback raised (the run ends; its checkpoints are kept), or an experiment
    logger failed to start (before any step)."""


class TrainingInterrupted(GankitError):
    """Training stopped on a signal after saving a checkpoint.

    ``exit_code`` is 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
    """

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code
