"""Contract checks of metric components."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gankit.eval.evaluator import Evaluator, SelectedMetric
from gankit.testing.common import require, require_registrable
from gankit.testing.data import TinyLabelledDataset

__all__ = ["check_metric"]


def check_metric(
    factory: Callable[..., Any],
    *,
    options: Mapping[str, Any] | None = None,
    n: int = 48,
    seed: int = 0,
) -> None:
    """Check a metric factory against the contract in ``register_metrics``.

    The metric has a boolean ``higher_is_better`` and a ``compute(ctx)``; on a tiny
    labelled dataset (:class:`TinyLabelledDataset`, conditioned on content and style)
    it returns a finite number (or a dict with a finite ``"value"``), the same number
    twice for the same generator, and a different one for a generator that outputs
    noise instead of the real images. Uses a temporary cache for the classifier.
    """
    require_registrable("metrics", factory)
    metric = factory(**dict(options or {}))
    require(
        isinstance(getattr(metric, "higher_is_better", None), bool),
        ("metric has no boolean `higher_is_better`"),
    )
    require(callable(getattr(metric, "compute", None)), "metric has no compute(ctx) method")
    requires = tuple(getattr(metric, "requires", ()))
    require(all(isinstance(r, str) for r in requires), "`requires` must be a tuple of names")
    dataset = TinyLabelledDataset(seed=seed)
    examples = dataset._arrays["test"]

    def generator(images: np.ndarray) -> Callable[..., np.ndarray]:
        def call(inputs: Mapping[str, Any], training: bool = False) -> np.ndarray:
            count = len(inputs["z"])
            start = call.offset
            call.offset += count
            return images[start : start + count]

        call.offset = 0
        return call

    noise = np.random.default_rng(seed).uniform(-1, 1, examples["image"].shape).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        evaluator = Evaluator(
            [SelectedMetric("checked", metric, dict(options or {}))],
            dataset,
            dataset_key={"dataset": "tiny-labelled"},
            conditions=["content", "style"],
            latent_dim=4,
            split="test",
            n=n,
            seed=seed,
            cache_dir=Path(tmp),
        )
        order = evaluator.examples()  # the evaluator's shuffled sample, to align fakes with it
        real_like = order["image"]
        values = []
        for images in (real_like, real_like, noise[:n]):
            record = evaluator.evaluate(generator(images), step=0)[0]
            require(np.isfinite(record["value"]), f"metric value {record['value']} is not finite")
            values.append(record["value"])
    require(values[0] == values[1], f"metric is not deterministic ({values[0]} != {values[1]})")
    require(values[0] != values[2], "metric gives the same value for real images and for noise")
