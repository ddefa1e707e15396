"""Old import paths of modules that moved when gankit was split into subpackages.

``import gankit.layers`` still works: it gives a module that forwards every attribute
to the new home (``gankit.nn.layers``) and warns, once, with a ``DeprecationWarning``
naming the new path. Installed by ``gankit/__init__.py`` as a meta-path finder, so the
old names need no files of their own.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

__all__ = ["MOVED", "install"]

# old module -> new homes, searched in order for each attribute
MOVED: dict[str, tuple[str, ...]] = {
    "gankit.build": ("gankit.plugin.building",),
    "gankit.callbacks": ("gankit.train.progress", "gankit.train.metrics_log", "gankit.run.checkpoints"),
    "gankit.components": ("gankit.types",),
    "gankit.config": ("gankit.run.config", "gankit.run.resolve"),
    "gankit.distribute": ("gankit.train.distribute",),
    "gankit.evaluation": ("gankit.eval.evaluator", "gankit.types"),
    "gankit.features": ("gankit.eval.features",),
    "gankit.generate": ("gankit.eval.sampling", "gankit.run.models"),
    "gankit.hookspecs": ("gankit.plugin.hookspecs",),
    "gankit.images": ("gankit.io.images",),
    "gankit.layers": ("gankit.nn.layers",),
    "gankit.listing": ("gankit.plugin.listing",),
    "gankit.metrics": ("gankit.eval.metrics",),
    "gankit.optimizers": ("gankit.nn.optimizers",),
    "gankit.performance": ("gankit.nn.precision",),
    "gankit.plugins": ("gankit.plugin.loader",),
    "gankit.registry": ("gankit.plugin.registry",),
    "gankit.rundir": ("gankit.run.rundir",),
    "gankit.runfiles": ("gankit.io.files",),
    "gankit.scaffold": ("gankit.plugin.scaffold",),
    "gankit.trainer": ("gankit.train.trainer", "gankit.run.models", "gankit.run.resolve"),
}


class _MovedModule(types.ModuleType):
    """Forwards attribute reads to the new modules."""

    _homes: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        for home in self._homes:
            module = importlib.import_module(home)
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"module {self.__name__!r} (moved to {self._homes[0]}) has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        return sorted({n for home in self._homes for n in dir(importlib.import_module(home))})


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _MovedModule(spec.name, f"moved to {MOVED[spec.name][0]}")
        module._homes = MOVED[spec.name]
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        warnings.warn(
            f"{module.__name__} moved to {MOVED[module.__name__][0]}; the old name will be removed "
            "in gankit 0.3",
            DeprecationWarning,
            stacklevel=_caller_level(),
        )


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname in MOVED:
            return importlib.machinery.ModuleSpec(fullname, _Loader())
        return None


def _caller_level() -> int:
    """The stack level of the first frame outside the import machinery and this module."""
    frame, level = sys._getframe(1), 1
    while frame is not None and (
        frame.f_code.co_filename.startswith("<frozen importlib") or frame.f_code.co_filename == __file__
    ):
        frame, level = frame.f_back, level + 1
    return level


def install() -> None:
    """Add the finder once (idempotent)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
