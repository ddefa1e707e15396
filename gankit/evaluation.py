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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gankit.components import DataContext
from gankit.errors import ConfigError, GankitError, OptionError, UsageError
from gankit.registry import Registry

__all__ = ["EvalContext", "Evaluator", "SelectedMetric", "select_metrics", "evaluate_run", "DEFAULT_METRICS"]

DEFAULT_METRICS = ("fid",)
GENERATE_BATCH = 250


@dataclass
class EvalContext:
    """What a metric's ``compute(ctx)`` sees.

    Feature extractors are shared and cached across the metrics of one evaluation:
    ``ctx.features(name, which)`` gives ``(n, d)`` float64 features of the ``"real"``
    or ``"fake"`` images by extractor ``"inception"`` or ``"classifier"``;
    ``ctx.classifier()`` gives the dataset classifier itself (``probabilities``,
    ``features``, ``style_maps``).

    Attributes:
        real: ``(n, H, W, C)`` real images of ``split``, in [-1, 1].
        fake: ``(n, H, W, C)`` generated images, in [-1, 1].
        conditions: ``{name: (n, ...)}`` the conditions ``fake`` was generated from —
            those of the real examples, in the same order (empty if unconditional).
        labels: ``(n,)`` the real examples' ``"label"`` (the content's class for
            mnist-cifar), or None when the dataset has none.
        split, seed: where the real images come from and the seed of the sampling.
    """

    real: np.ndarray
    fake: np.ndarray
    conditions: Mapping[str, np.ndarray]
    labels: np.ndarray | None
    split: str
    seed: int
    _evaluator: Evaluator = field(repr=False, default=None)  # type: ignore[assignment]
    _fake_features: dict[tuple[str, str | None], np.ndarray] = field(repr=False, default_factory=dict)

    def extractor(self, name: str, *, weights: str | None = None) -> Any:
        """A feature extractor (``inception`` or ``classifier``), built once per evaluator."""
        return self._evaluator.extractor(name, weights=weights)

    def features(self, name: str, which: str, *, weights: str | None = None) -> np.ndarray:
        """``(n, d)`` features of ``which`` ("real" or "fake") by extractor ``name``, cached."""
        return self._evaluator.features(self, name, which, weights=weights)

    def classifier(self) -> Any:
        """The dataset classifier (:class:`gankit.features.DatasetClassifier`)."""
        return self.extractor("classifier")


@dataclass(frozen=True)
class SelectedMetric:
    name: str
    metric: Any
    options: dict[str, Any]
    plugin: str

    @property
    def higher_is_better(self) -> bool:
        return bool(getattr(self.metric, "higher_is_better", False))


def select_metrics(
    registry: Registry, names: Sequence[str], options: Mapping[str, Any] | None = None
) -> list[SelectedMetric]:
    """Build the named metrics. Each ``-o metric.K=V`` goes to every selected metric
    that has option K; an option none of them has is an error."""
    options = dict(options or {})
    used: set[str] = set()
    selected = []
    for name in dict.fromkeys(names):  # keep order, drop repeats
        component = registry.get("metrics", name)
        names_here = {o.name for o in component.options}
        own = {k: v for k, v in options.items() if k in names_here}
        used.update(own)
        resolved = component.validate_options(own)
        selected.append(SelectedMetric(name, component.factory(**resolved), resolved, component.plugin))
    unused = sorted(set(options) - used)
    if unused:
        raise OptionError(
            f"no selected metric has option {', '.join(repr(u) for u in unused)} "
            f"(metrics: {', '.join(names)}; see gankit list-plugins --family metrics)"
        )
    return selected


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
            missing = [r for r in getattr(m.metric, "requires", ()) if r != "label" and r not in self.conditions]
            if missing:
                raise ConfigError(
                    f"metric '{m.name}' needs a run conditioned on {', '.join(missing)} "
                    f"(this run's conditions: {', '.join(self.conditions) or 'none'})"
                )
        if split not in dataset.splits:
            raise UsageError(f"dataset has no split '{split}' (splits: {', '.join(dataset.splits)})")
        if n > dataset.splits[split]:
            raise UsageError(f"-n {n} is more than the {dataset.splits[split]} examples of split '{split}'")
        if n < 2:
            raise UsageError("-n must be at least 2")
        self._examples: dict[str, np.ndarray] | None = None
        self._extractors: dict[tuple[str, str | None], Any] = {}
        self._real_features: dict[tuple[str, str | None], np.ndarray] = {}

    # === Shared, cached pieces ===

    def examples(self) -> dict[str, np.ndarray]:
        if self._examples is None:
            from gankit.build import take_examples

            self._examples = take_examples(self.dataset, self.split, self.n, shuffle_seed=self.seed)
            if "label" not in self._examples and any(
                "label" in getattr(m.metric, "requires", ()) for m in self.metrics
            ):
                raise GankitError("a selected metric needs labels, and this dataset has none")
        return self._examples

    def extractor(self, name: str, *, weights: str | None = None) -> Any:
        from gankit.features import make_extractor

        key = (name, weights or None)
        if key not in self._extractors:
            self._extractors[key] = make_extractor(
                name, dataset=self.dataset, dataset_key=self.dataset_key, context=self.context,
                seed=self.seed, weights=weights, log=self.log, cache_dir=self.cache_dir,
            )
        return self._extractors[key]

    def features(self, ctx: EvalContext, name: str, which: str, *, weights: str | None = None) -> np.ndarray:
        if which not in ("real", "fake"):
            raise ValueError(f"which must be 'real' or 'fake', got {which!r}")
        extractor = self.extractor(name, weights=weights)
        key = (name, weights or None)
        if which == "fake":  # per evaluation: the fakes change every time
            if key not in ctx._fake_features:
                ctx._fake_features[key] = extractor.features(ctx.fake)
            return ctx._fake_features[key]
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

    def evaluate(self, generator: Any, step: int | None, extra_protocol: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """One record per metric: ``metric``, ``value``, any extra values, ``protocol``."""
        examples = self.examples()
        ctx = EvalContext(
            real=examples["image"], fake=self.generate(generator),
            conditions={c: examples[c] for c in self.conditions},
            labels=examples.get("label"), split=self.split, seed=self.seed, _evaluator=self,
        )
        records = []
        for m in self.metrics:
            started = time.perf_counter()
            result = m.metric.compute(ctx)
            extra = dict(result) if isinstance(result, Mapping) else {"value": result}
            value = float(extra.pop("value"))
            protocol = {
                "metric": m.name, "plugin": m.plugin, "options": m.options,
                **dict(getattr(m.metric, "protocol", {}) or {}),
                "split": self.split, "n": self.n, "step": step, "seed": self.seed,
                "dataset": self.dataset_key,
                "higher_is_better": m.higher_is_better,
                **dict(extra_protocol or {}),
            }
            records.append({
                "metric": m.name, "value": value, **extra, "protocol": protocol,
                "seconds": round(time.perf_counter() - started, 3),
                "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            })
        return records


def dataset_key(config: Any) -> dict[str, Any]:
    """What identifies a run's real data: the dataset's name and options (the
    classifier cache and every protocol record use it)."""
    return {"dataset": config.dataset, "options": config.options.get("dataset", {})}


def evaluate_run(
    run: Any,
    registry: Registry,
    names: Sequence[str],
    *,
    options: Mapping[str, Any] | None = None,
    n: int = 1000,
    split: str = "test",
    seed: int = 0,
    data_dir: str | None = None,
    best: bool = False,
    log: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Evaluate a run directory's newest (or best) generator; append to ``evals.jsonl``."""
    from gankit.build import build_dataset
    from gankit.generate import load_generator
    from gankit.runfiles import append_jsonl

    config = run.read_config()
    metrics = select_metrics(registry, names, options)
    dataset = build_dataset(registry, config.dataset, config.options.get("dataset"), data_dir)
    evaluator = Evaluator(
        metrics, dataset,
        dataset_key=dataset_key(config),
        conditions=config.condition or [], latent_dim=config.latent_dim,
        split=split, n=n, seed=seed, context=DataContext.from_env(data_dir), log=log,
    )
    generator, checkpoint_step = load_generator(run, registry, best=best)
    step = checkpoint_step if checkpoint_step is not None else run.read_run_info().get("exported_step")
    source = "best checkpoint" if best else "checkpoint" if checkpoint_step is not None else "generator.keras"
    records = evaluator.evaluate(generator, step, {"weights": source})
    for record in records:
        append_jsonl(run.evals_file, record)
    return records
