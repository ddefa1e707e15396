"""gankit: a plugin-based GAN toolkit on TensorFlow / Keras 3.

This module is the public API for plugin authors: the hook marker, the types passed
to components, the errors, building a registered component by name (:func:`create`,
:func:`registered`), and the contract kit's checks. Besides it, plugins may use
``gankit.data`` (dataset files),
``gankit.nn.layers`` (fast drop-in Keras layers), ``gankit.eval.metrics`` (metric
numerics) and ``gankit.testing`` (the contract kit); see ``docs/api.md``.

``import gankit`` imports neither TensorFlow nor the trainer: the contract kit's
checks and :func:`create` load them when first used.
"""

from __future__ import annotations

from typing import Any

from gankit._version import __version__
from gankit.conditions import LABEL
from gankit.errors import (
    CallbackError,
    ComponentError,
    ConfigError,
    DataError,
    DuplicateComponentError,
    GankitError,
    OptionError,
    PluginCodeError,
    PluginError,
    TrainingError,
    UnknownComponentError,
    UsageError,
)
from gankit.plugin.hookspecs import hookimpl
from gankit.scheme import Group, Role, SchemeContext, Step
from gankit.types import (
    DataContext,
    EvalContext,
    LoggerContext,
    LossContext,
    ModelSpec,
    TrainingDefaults,
)

# Names loaded on first use (they import TensorFlow or the plugin loader).
_LAZY = {
    "create": "gankit.plugin.session",
    "registered": "gankit.plugin.session",
    "check_generator": "gankit.testing",
    "check_discriminator": "gankit.testing",
    "check_loss": "gankit.testing",
    "check_penalty": "gankit.testing",
    "check_dataset": "gankit.testing",
    "check_metric": "gankit.testing",
    "check_scheme": "gankit.testing",
    "check_logger": "gankit.testing",
    "read_export_info": "gankit.io.keras_info",
    "train": "gankit.api",
    "Run": "gankit.api",
    "register_plugin": "gankit.api",
    "Callback": "gankit.training.callbacks",
}

__all__ = [
    "__version__",
    "hookimpl",
    "LABEL",
    "ModelSpec",
    "LossContext",
    "DataContext",
    "EvalContext",
    "TrainingDefaults",
    "Role",
    "Group",
    "SchemeContext",
    "Step",
    "GankitError",
    "UsageError",
    "ConfigError",
    "UnknownComponentError",
    "OptionError",
    "PluginError",
    "DuplicateComponentError",
    "ComponentError",
    "PluginCodeError",
    "DataError",
    "TrainingError",
    "CallbackError",
    "LoggerContext",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gankit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
