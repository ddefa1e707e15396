"""Turning names and options into components: the one place both the CLI and the
trainer go through, so validation is identical everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gankit.components import DataContext
from gankit.registry import Component, Registry

__all__ = ["resolve", "build_dataset", "take_examples"]


def resolve(registry: Registry, family: str, name: str, options: Mapping[str, Any] | None = None) -> tuple[Component, dict[str, Any]]:
    """The component and its validated, complete options (raises ``UsageError`` kinds)."""
    component = registry.get(family, name)
    return component, component.validate_options(dict(options or {}))


def build_dataset(
    registry: Registry,
    name: str,
    options: Mapping[str, Any] | None = None,
    data_dir: str | Path | None = None,
) -> Any:
    """Build dataset ``name`` with ``options``, reading files from ``data_dir``/env."""
    component, resolved = resolve(registry, "datasets", name, options)
    return component.factory(DataContext.from_env(data_dir), **resolved)


def take_examples(dataset: Any, split: str, n: int, shuffle_seed: int | None = None) -> dict[str, np.ndarray]:
    """The first ``n`` examples of ``split`` (optionally shuffled) as stacked numpy arrays."""
    ds = dataset.load(split, epoch=0)
    if shuffle_seed is not None:
        ds = ds.shuffle(4096, seed=shuffle_seed, reshuffle_each_iteration=False)
    batch = next(iter(ds.batch(n).take(1).as_numpy_iterator()), None)
    if batch is None:
        from gankit.errors import DataError

        raise DataError(f"split '{split}' is empty")
    return {k: np.asarray(v) for k, v in batch.items()}
