"""Evaluating a run directory (``gankit evaluate``, ``gankit.Run.evaluate``): a noise
generator with :class:`~gankit.eval.evaluator.Evaluator`, a translation run per
direction (:mod:`gankit.eval.directions`); every record appended to ``evals.jsonl``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gankit.eval.directions import evaluate_directions
from gankit.eval.evaluator import Evaluator, provenance, select_metrics
from gankit.io.files import append_jsonl
from gankit.plugin.building import build_dataset
from gankit.plugin.registry import Registry
from gankit.run.models import load_generator
from gankit.run.record import translation_roles
from gankit.run.rundir import RunDir
from gankit.types import DataContext

__all__ = ["evaluate_run"]


def evaluate_run(
    run: RunDir,
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
    """Evaluate a run directory's newest (or best) generator; append to ``evals.jsonl``.
    A translation run is evaluated per direction (:mod:`gankit.eval.directions`)."""
    config = run.read_config()
    metrics = select_metrics(registry, names, options)
    dataset = build_dataset(registry, config.dataset, config.options.get("dataset"), data_dir)
    context = DataContext.from_env(data_dir)
    if translation_roles(run.read_run_info()):
        records = evaluate_directions(
            run,
            registry,
            metrics,
            dataset,
            dataset_key=config.dataset_key(),
            n=n,
            split=split,
            seed=seed,
            context=context,
            best=best,
            log=log,
        )
    else:
        evaluator = Evaluator(
            metrics,
            dataset,
            dataset_key=config.dataset_key(),
            conditions=config.condition or [],
            latent_dim=config.latent_dim,
            split=split,
            n=n,
            seed=seed,
            context=context,
            log=log,
        )
        generator, checkpoint_step = load_generator(run, registry, best=best)
        step, weights = provenance(run, checkpoint_step, best=best, export="generator.keras")
        records = evaluator.evaluate(generator, step, {"weights": weights})
    for record in records:
        append_jsonl(run.evals_file, record)
    return records
