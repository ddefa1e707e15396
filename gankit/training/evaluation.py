"""Evaluation during training (``--eval-every``): the evaluator for a run, and keeping
the best checkpoint by the chosen metric."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from gankit.eval.evaluator import Evaluator, select_metrics
from gankit.io.files import append_jsonl, atomic_write_text
from gankit.plugin.registry import Registry
from gankit.run.checkpoints import CheckpointStore
from gankit.run.config import RunConfig
from gankit.run.rundir import RunDir

__all__ = ["PeriodicEvaluation"]


class PeriodicEvaluation:
    """Evaluates a run's generator with ``--eval-metric`` and keeps ``checkpoints/best``.

    Everything the evaluations share (real examples, noise, extractors, real features)
    is prepared once, at construction, before training writes anything: a missing
    extractor fails cleanly.
    """

    def __init__(self, config: RunConfig, registry: Registry, dataset: Any, run: RunDir) -> None:
        metrics = select_metrics(registry, [config.eval_metric], config.options.get("metric", {}))
        self.run = run
        self.evaluator = Evaluator(
            metrics,
            dataset,
            dataset_key=config.dataset_key(),
            conditions=list(config.condition or []),
            latent_dim=config.latent_dim,
            split="test",
            n=min(config.eval_n, dataset.splits.get("test", 0)),
            seed=config.seed,
            log=lambda text: print(text, file=sys.stderr, flush=True),
        )
        self.evaluator.prepare()

    def __call__(
        self, generator: Any, step: int, checkpoint: Mapping[str, Sequence[Any]], log: Any = None
    ) -> float:
        """Evaluate ``generator`` at ``step``; save ``checkpoint`` as the best when it is."""
        if log is not None:
            self.evaluator.log = log
        record = self.evaluator.evaluate(generator, step)[0]
        append_jsonl(self.run.evals_file, record)
        value, higher = record["value"], record["protocol"]["higher_is_better"]
        best = self.run.read_best()
        if math.isfinite(value) and (
            best is None
            or best.get("metric") != record["metric"]
            or (value > best["value"] if higher else value < best["value"])
        ):
            CheckpointStore.save_as(self.run.best_checkpoint, step, checkpoint)
            atomic_write_text(
                self.run.best_file,
                json.dumps(
                    {
                        "step": step,
                        "metric": record["metric"],
                        "value": value,
                        "higher_is_better": higher,
                    }
                )
                + "\n",
            )
        return round(value, 6)
