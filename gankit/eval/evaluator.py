"""Evaluating a generator with metric components, and recording the protocol.

A metric component (hook ``register_metrics``) computes one number from an
:class:`EvalContext`: ``n`` real images of a dataset split, ``n`` generated images
(for a conditional run, generated from the conditions of those same real examples),
and shared, cached feature extractors. :class:`Evaluator` builds the context for a
generator; ``gankit evaluate`` and the trainer's ``--eval-every`` both use it, so a
number from either is computed the same way. Each result carries its full protocol
(metric and options, extractor, split, n, step, seed), appended to ``evals.jsonl``.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gankit.conditions import LABEL
from gankit.errors import ConfigError, GankitError, UsageError
from gankit.eval.features import make_extractor
from gankit.plugin.building import is_paired_run, resolve_metrics, take_examples
from gankit.plugin.registry import Component, Registry
from gankit.run.rundir import RunDir
from gankit.types import DataContext, EvalContext

__all__ = ["Evaluator", "SelectedMetric", "select_metrics", "provenance", "DEFAULT_METRICS"]

DEFAULT_METRICS = ("fid",)
GENERATE_BATCH = 250


@dataclass(frozen=True)
class SelectedMetric:
    """A built metric, its options and its registry entry (``None`` for one made by
    hand, as the contract kit does)."""

    name: str
    metric: Any
    options: dict[str, Any]
    component: Component | None = None

    @property
    def plugin(self) -> str:
        return self.component.plugin if self.component is not None else "-"

    def compute(self, ctx: EvalContext) -> Any:
        if self.component is None:
            return self.metric.compute(ctx)
        with self.component.calling("compute"):
            return self.metric.compute(ctx)

    @property
    def higher_is_better(self) -> bool:
        return bool(getattr(self.metric, "higher_is_better", False))


def select_metrics(
    registry: Registry, names: Sequence[str], options: Mapping[str, Any] | None = None
) -> list[SelectedMetric]:
    """Build the named metrics; ``options`` are distributed as in
    :func:`gankit.plugin.building.resolve_metrics`."""
    return [
        SelectedMetric(component.name, component.create(**resolved), resolved, component)
        for component, resolved in resolve_metrics(registry, names, options)
    ]


class Evaluator:
    """Evaluates generators of one run on a fixed set of real examples and noise.

    The real examples, the noise, the extractors and the real images' features are
    computed once, so evaluating every N training steps costs one pass of the
    generator and of the extractors over the fake images.
    """

    def __init__(
        self,
        metrics: Sequence[SelectedMetric],
        dataset: Any,
        *,
        dataset_key: Mapping[str, Any],
        conditions: Sequence[str],
        latent_dim: int,
        split: str = "test",
        n: int = 1000,
        seed: int = 0,
        context: DataContext | None = None,
        cache_dir: Any = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.metrics = list(metrics)
        self.cache_dir = cache_dir
        self.dataset = dataset
        self.dataset_key = dict(dataset_key)
        self.conditions = list(conditions)
        self.latent_dim = latent_dim
        self.split, self.n, self.seed = split, n, seed
        self.context = context or DataContext.from_env()
        self.log = log
        for m in self.metrics:
            missing = [r for r in getattr(m.metric, "requires", ()) if r not in self.conditions]
            if missing:
                raise ConfigError(
                    f"metric '{m.name}' needs a run conditioned on {', '.join(missing)} "
                    f"(this run's conditions: {', '.join(self.conditions) or 'none'})"
                )
        unpaired = [
            m.name
            for m in self.metrics
            if getattr(m.metric, "needs_pairs", False)
            and not is_paired_run(dataset, self.conditions)
        ]
        if unpaired:
            raise ConfigError(
                f"metric '{unpaired[0]}' compares outputs with their ground truth: it needs a run "
                "conditioned on "
                "every condition image of a paired dataset (one declaring `paired = True`: each "
                "image renders them)"
            )
        if split not in dataset.splits:
            raise UsageError(
                f"dataset has no split '{split}' (splits: {', '.join(dataset.splits)})"
            )
        if n > dataset.splits[split]:
            raise UsageError(
                f"-n {n} is more than the {dataset.splits[split]} examples of split '{split}' "
                f"(pass -n {dataset.splits[split]} or fewer, or another --split)"
            )
        if n < 2:
            raise UsageError("-n must be at least 2")
        self._examples: dict[str, np.ndarray] | None = None
        self._extractors: dict[tuple[str, str | None], Any] = {}
        self._real_features: dict[tuple[str, str | None], np.ndarray] = {}

    # === Shared, cached pieces ===

    def examples(self) -> dict[str, np.ndarray]:
        if self._examples is None:
            self._examples = take_examples(self.dataset, self.split, self.n, shuffle_seed=self.seed)
            if LABEL not in self._examples and any(
                getattr(m.metric, "needs_labels", False)
                or LABEL in getattr(m.metric, "requires", ())
                for m in self.metrics
            ):
                raise GankitError("a selected metric needs labels, and this dataset has none")
        return self._examples

    def extractor(self, name: str, *, weights: str | None = None) -> Any:
        key = (name, weights or None)
        if key not in self._extractors:
            self._extractors[key] = make_extractor(
                name,
                dataset=self.dataset,
                dataset_key=self.dataset_key,
                context=self.context,
                seed=self.seed,
                weights=weights,
                log=self.log,
                cache_dir=self.cache_dir,
            )
        return self._extractors[key]

    def features(
        self, ctx: EvalContext, name: str, which: str, *, weights: str | None = None
    ) -> np.ndarray:
        if which not in ("real", "fake"):
            raise ValueError(f"which must be 'real' or 'fake', got {which!r}")
        extractor = self.extractor(name, weights=weights)
        key = (name, weights or None)
        if which == "fake":  # per evaluation: the fakes change every time
            if key not in ctx.fake_features:
                ctx.fake_features[key] = extractor.features(ctx.fake)
            return ctx.fake_features[key]
        if key not in self._real_features:
            self._real_features[key] = extractor.features(ctx.real)
        return self._real_features[key]

    def prepare(self) -> None:
        """Load the real examples and every extractor the metrics name, now: a missing
        weights file or a dataset without labels fails before training, not at the
        first evaluation."""
        self.examples()
        for m in self.metrics:
            name = dict(getattr(m.metric, "protocol", {}) or {}).get("extractor")
            if name:
                self.extractor(name, weights=m.options.get("weights") or None)

    # === Evaluating ===

    def generate(self, generator: Any) -> np.ndarray:
        examples = self.examples()
        rng = np.random.default_rng(self.seed)
        z = rng.standard_normal((self.n, self.latent_dim)).astype(np.float32)
        parts = []
        for i in range(0, self.n, GENERATE_BATCH):
            inputs = {"z": z[i : i + GENERATE_BATCH]}
            inputs.update({c: examples[c][i : i + GENERATE_BATCH] for c in self.conditions})
            parts.append(np.asarray(generator(inputs, training=False), np.float32))
        return np.concatenate(parts)

    def evaluate(
        self, generator: Any, step: int | None, extra_protocol: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """One record per metric: ``metric``, ``value``, any extra values, ``protocol``."""
        examples = self.examples()
        ctx = EvalContext(
            real=examples["image"],
            fake=self.generate(generator),
            conditions={c: examples[c] for c in self.conditions},
            labels=examples.get(LABEL),
            split=self.split,
            seed=self.seed,
            source=self,
        )
        records = []
        for m in self.metrics:
            started = time.perf_counter()
            result = m.compute(ctx)
            extra = dict(result) if isinstance(result, Mapping) else {"value": result}
            value = float(extra.pop("value"))
            protocol = {
                "metric": m.name,
                "plugin": m.plugin,
                "options": m.options,
                **dict(getattr(m.metric, "protocol", {}) or {}),
                "split": self.split,
                "n": self.n,
                "step": step,
                "seed": self.seed,
                "dataset": self.dataset_key,
                "higher_is_better": m.higher_is_better,
                **dict(extra_protocol or {}),
            }
            if (
                protocol.get("extractor") == "classifier"
                and ("classifier", None) in self._extractors
            ):
                info = self._extractors[("classifier", None)].info
                protocol["classifier"] = {
                    k: info.get(k) for k in ("task", "classes", "test_accuracy")
                }
            records.append(
                {
                    "metric": m.name,
                    "value": value,
                    **extra,
                    "protocol": protocol,
                    "seconds": round(time.perf_counter() - started, 3),
                    "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                }
            )
        return records


def provenance(
    run: RunDir, checkpoint_step: int | None, *, best: bool, export: str
) -> tuple[int | None, str]:
    """The step of weights loaded by :func:`gankit.run.models.load_network` (a
    checkpoint's, else the export's) and where they came from, for a protocol."""
    if checkpoint_step is None:
        return run.read_run_info().get("exported_step"), export
    return checkpoint_step, "best checkpoint" if best else "checkpoint"
