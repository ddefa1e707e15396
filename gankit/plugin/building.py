"""Turning names and options into components: the one place the CLI, the trainer and
the evaluator go through, so validation is identical everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gankit.conditions import LABEL, class_names
from gankit.errors import ComponentError, DataError, OptionError, PluginCodeError
from gankit.plugin.registry import SINGULAR, Component, Registry
from gankit.types import DataContext

__all__ = [
    "resolve",
    "resolve_metrics",
    "build_dataset",
    "take_examples",
    "example_problem",
    "check_first_batch",
    "GuardedDataset",
    "class_names",
    "offered_conditions",
    "is_paired_run",
]


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
    return resolve_selection(registry, "metrics", names, options)


def resolve_selection(
    registry: Registry, family: str, names: Sequence[str], options: Mapping[str, Any] | None = None
) -> list[tuple[Component, dict[str, Any]]]:
    """Several components of ``family`` chosen together (metrics, loggers) with their
    validated options: each ``-o <family>.K=V`` goes to every selected component that
    has option K; an option none of them has is an error."""
    options = dict(options or {})
    used: set[str] = set()
    selected = []
    for name in dict.fromkeys(names):  # keep order, drop repeats
        component = registry.get(family, name)
        own = {k: v for k, v in options.items() if k in {o.name for o in component.options}}
        used.update(own)
        selected.append((component, component.validate_options(own)))
    unused = sorted(set(options) - used)
    if unused:
        single = SINGULAR[family]
        raise OptionError(
            f"no selected {single} has option {', '.join(repr(u) for u in unused)} "
            f"({family}: {', '.join(names)}; see gankit list-plugins --family {family})"
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
    return GuardedDataset(
        component.create(DataContext.from_env(data_dir), **dict(options or {})), component
    )


def take_examples(
    dataset: Any, split: str, n: int, shuffle_seed: int | None = None
) -> dict[str, np.ndarray]:
    """The first ``n`` examples of ``split`` (optionally shuffled) as stacked numpy arrays."""
    ds = dataset.load(split, epoch=0)
    if shuffle_seed is not None:
        ds = ds.shuffle(4096, seed=shuffle_seed, reshuffle_each_iteration=False)
    batch = next(iter(ds.batch(n).take(1).as_numpy_iterator()), None)
    if batch is None:
        raise DataError(f"split '{split}' is empty")
    return {k: np.asarray(v) for k, v in batch.items()}


def offered_conditions(dataset: Any) -> list[str]:
    """What ``--condition`` may name for ``dataset``: its condition images, and
    ``label`` when it declares two or more classes."""
    return [*dataset.conditions, *([LABEL] if len(class_names(dataset)) >= 2 else [])]


def is_paired_run(dataset: Any, conditions: Sequence[str]) -> bool:
    """Whether a run conditioned on ``conditions`` has its real image as the ground truth
    of them: the dataset declares ``paired = True`` (its image renders its condition
    images) and the run is given every one of those condition images. A run given only
    some of them (``--condition content``), or only ``label``, is not: its real image is
    one of many right answers, and a reconstruction term towards it would blur them."""
    rendered = set(getattr(dataset, "conditions", {}) or {})
    return (
        bool(getattr(dataset, "paired", False)) and bool(rendered) and rendered <= set(conditions)
    )


def example_problem(
    dataset: Any, element: Mapping[str, Any], conditions: Sequence[str] | None = None
) -> str | None:
    """What is wrong with one example (numpy values) for ``dataset``'s declarations, or
    None: ``image`` float32 in [-1, 1] of ``image_shape``, each of ``conditions`` (all
    declared ones by default) with its shape, ``label`` an integer scalar in
    ``[0, len(class_names))``. The contract kit and the trainer both use it."""
    image = element.get("image")
    if image is None:
        return "element has no `image`"
    image = np.asarray(image)
    if tuple(image.shape) != tuple(dataset.image_shape):
        return f"image shape {tuple(image.shape)} != image_shape {tuple(dataset.image_shape)}"
    if image.dtype != np.float32:
        return f"image dtype {image.dtype} != float32 (images are float32 in [-1, 1])"
    low, high = float(np.min(image)), float(np.max(image))
    if low < -1.0 or high > 1.0:
        return f"image values in [{low:g}, {high:g}], outside [-1, 1]"
    for name in dataset.conditions if conditions is None else conditions:
        if name == LABEL:
            if LABEL not in element:
                return "a run conditioned on the label needs examples with `label`"
            continue  # checked below
        shape = tuple(dataset.conditions[name])
        if name not in element:
            return f"element has no condition `{name}`"
        if tuple(np.shape(element[name])) != shape:
            return f"condition `{name}` shape {tuple(np.shape(element[name]))} != {shape}"
    if LABEL in element:
        label = np.asarray(element[LABEL])
        if label.shape != () or not np.issubdtype(label.dtype, np.integer):
            return f"`label` must be an integer scalar, got {label.dtype} of shape {label.shape}"
        names = getattr(dataset, "class_names", None)
        if not names:
            return "the dataset yields `label` but declares no `class_names`"
        if not 0 <= int(label) < len(names):
            return f"label {int(label)} outside [0, {len(names)}) of class_names"
    return None


def check_first_batch(
    dataset: Any, conditions: Sequence[str], name: str, plugin: str, n: int = 8
) -> None:
    """The first ``n`` training examples against the dataset's declarations; a problem is
    one ``ComponentError`` naming the dataset and its plugin (before anything is built)."""
    examples = take_examples(dataset, "train", n)
    for i in range(len(examples["image"])):
        problem = example_problem(dataset, {k: v[i] for k, v in examples.items()}, conditions)
        if problem:
            raise ComponentError("dataset", name, plugin, f"first training batch: {problem}")


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
            if isinstance(
                exc.error, AttributeError
            ):  # a missing attribute stays one: getattr(d, x, default)
                raise exc.error from None
            raise
        if name != "load":
            return value

        def load(*args: Any, **kwargs: Any) -> Any:
            with self._component.calling("load()"):
                return value(*args, **kwargs)

        return load
