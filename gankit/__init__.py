"""gankit: a plugin-based GAN toolkit on TensorFlow / Keras 3.

Plugins use only what is exported here (plus ``gankit.data`` for dataset files and
``gankit.testing`` for contract checks). Importing gankit does not import TensorFlow.
"""

from __future__ import annotations

from gankit.components import DataContext, LossContext, ModelSpec
from gankit.errors import (
    ConfigError,
    DataError,
    DuplicateComponentError,
    GankitError,
    OptionError,
    PluginError,
    TrainingError,
    UnknownComponentError,
    UsageError,
)
from gankit.evaluation import EvalContext
from gankit.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "hookimpl",
    "ModelSpec",
    "LossContext",
    "DataContext",
    "EvalContext",
    "GankitError",
    "UsageError",
    "ConfigError",
    "UnknownComponentError",
    "OptionError",
    "PluginError",
    "DuplicateComponentError",
    "DataError",
    "TrainingError",
]
