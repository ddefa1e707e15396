"""Turning names and options into components: the one place the CLI, the trainer and
the evaluator go through, so validation is identical everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gankit.errors import DataError, OptionError, PluginCodeError
from gankit.plugin.registry import Component, Registry
from gankit.types import DataContext

__all__ = ["resolve", "resolve_metrics", "build_dataset", "take_examples", "GuardedDataset"]


def resolve(
    registry: Registry, family: str, name: str, options: Mapping[str, Any] | None = None
) -> tuple[Component, dict[str, Any]]:
    """The component and its validated, complete options (raises ``UsageError`` kinds)."""
    component = registry.get(family, name)
    return component, component.validate_options(dict(options or {}))


def resolve_metrics(
    registry: Registry, names: Sequence[str], options: Mapping[str, Any] | None = None
) -> list[tuple[Component, dict[str, Any]]]:
    """The named metrics with their validated options. Each ``-o metric.K=V`` goes to
    every selected metric that has option K; an option none of them has is an error."""
    options = dict(options or {})
    used: set[str] = set()
    selected = []
    for name in dict.fromkeys(names):  # keep order, drop repeats
        component = registry.get("metrics", name)
        own = {k: v for k, v in options.items() if k in {o.name for o in component.options}}
        used.update(own)
        selected.append((component, component.validate_options(own)))
    unused = sorted(set(options) - used)
    if unused:
        raise OptionError(
            f"no selected metric has option {', '.join(repr(u) for u in unused)} "
            f"(metrics: {', '.join(names)}; see gankit list-plugins --family metrics)"
        )
    return selected


def build_dataset(
    registry: Registry,
    name: str,
    options: Mapping[str, Any] | None = None,
    data_dir: str | Path | None = None,
) -> Any:
    """Build dataset ``name`` with ``options``, reading files from ``data_dir``/env."""
    component = registry.get("datasets", name)
    return GuardedDataset(component.create(DataContext.from_env(data_dir), **dict(options or {})), component)


def take_examples(dataset: Any, split: str, n: int, shuffle_seed: int | None = None) -> dict[str, np.ndarray]:
    """The first ``n`` examples of ``split`` (optionally shuffled) as stacked numpy arrays."""
    ds = dataset.load(split, epoch=0)
    if shuffle_seed is not None:
        ds = ds.shuffle(4096, seed=shuffle_seed, reshuffle_each_iteration=False)
    batch = next(iter(ds.batch(n).take(1).as_numpy_iterator()), None)
    if batch is None:
        raise DataError(f"split '{split}' is empty")
    return {k: np.asarray(v) for k, v in batch.items()}


class GuardedDataset:
    """A dataset component whose methods and attributes run under
    :meth:`Component.calling`: an exception in the plugin's code names the dataset and
    its plugin. Everything else is the dataset itself."""

    def __init__(self, dataset: Any, component: Component) -> None:
        self._dataset, self._component = dataset, component

    def __getattr__(self, name: str) -> Any:
        try:
            with self._component.calling(f"`{name}`"):
                value = getattr(self._dataset, name)
        except PluginCodeError as exc:
            if isinstance(exc.error, AttributeError):  # a missing attribute stays one: getattr(d, x, default)
                raise exc.error from None
            raise
        if name != "load":
            return value

        def load(*args: Any, **kwargs: Any) -> Any:
            with self._component.calling("load()"):
                return value(*args, **kwargs)

        return load
