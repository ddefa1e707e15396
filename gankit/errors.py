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
    "UnknownComponentError",
    "OptionError",
    "PluginError",
    "DuplicateComponentError",
    "DataError",
    "TrainingError",
    "TrainingInterrupted",
]


class GankitError(Exception):
    """Base class of every error gankit raises on purpose."""


class UsageError(GankitError):
    """The user asked for something invalid: a bad name, option or config (exit 2)."""


class ConfigError(UsageError):
    """A run configuration (flags, TOML file, ``-o`` overrides) is invalid."""


class UnknownComponentError(UsageError):
    """No component of that name is registered in that family."""


class OptionError(UsageError):
    """A component option is unknown or has the wrong type."""


class PluginError(GankitError):
    """A plugin could not be loaded or registered its components wrongly."""


class DuplicateComponentError(PluginError):
    """Two plugins registered the same name in one family."""


class DataError(GankitError):
    """A dataset file is missing, truncated or malformed."""


class TrainingError(GankitError):
    """Training cannot continue (non-finite loss, unwritable run directory, ...)."""


class TrainingInterrupted(GankitError):
    """Training stopped on a signal after saving a checkpoint.

    ``exit_code`` is 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
    """

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code
