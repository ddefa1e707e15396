"""Evaluating a translation run: each direction against its target domain's real images.

A translation run (``cyclegan``, ``cut``, ``pix2pix``) has no noise generator to draw
from; its metrics are per direction. ``a2b`` translates the held-out split's domain A
images (the dataset's ``source``) and compares them with its domain B images (the
dataset's ``image``); ``b2a`` the other way, through :class:`DomainView`, which
presents domain A as the dataset's images. Each direction is scored by the same
:class:`gankit.eval.evaluator.Evaluator` as a noise generator, so a FID here is
computed exactly as one there, with features of the target domain (the ``classifier``
extractor is trained on that domain's own images, cached per domain). Each record's
protocol carries ``direction``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gankit.conditions import translation_source
from gankit.errors import UsageError
from gankit.eval.evaluator import Evaluator, provenance
from gankit.eval.translate import DIRECTIONS, translation_role
from gankit.run.models import load_network
from gankit.run.rundir import RunDir
from gankit.types import DataContext

__all__ = ["DomainView", "direction_dataset", "evaluate_directions"]


class DomainView:
    """A two-domain dataset seen the other way round: domain A (``source``) as its
    ``image`` and domain B as its ``source``. Everything else is the dataset's."""

    def __init__(self, dataset: Any) -> None:
        source = translation_source(dataset)
        if source is None:
            raise ValueError("the dataset has one image domain, not two")
        self._dataset, self.source = dataset, source
        self.image_shape = tuple(dataset.conditions[source])
        self.conditions = {source: tuple(dataset.image_shape)}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._dataset, name)

    def load(self, split: str, epoch: int = 0) -> Any:
        import tensorflow as tf

        source = self.source

        def swap(element: Any) -> Any:
            out = dict(element)
            out["image"], out[source] = element[source], element["image"]
            return out

        return self._dataset.load(split, epoch=epoch).map(swap, num_parallel_calls=tf.data.AUTOTUNE)


def direction_dataset(dataset: Any, direction: str) -> Any:
    """The dataset whose ``image`` is ``direction``'s target domain."""
    return dataset if direction == "a2b" else DomainView(dataset)


def _directions(run: RunDir) -> dict[str, str]:
    """The role of each direction the run translates, ``a2b`` first."""
    found = {}
    for direction in DIRECTIONS:
        try:
            found[direction] = translation_role(run, direction)
        except UsageError:
            continue
    return found


def evaluate_directions(
    run: RunDir,
    registry: Any,
    metrics: Sequence[Any],
    dataset: Any,
    *,
    dataset_key: Mapping[str, Any],
    n: int,
    split: str,
    seed: int,
    context: DataContext,
    best: bool = False,
    log: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """One record per metric and direction the run translates (``a2b``, then ``b2a``)."""
    source = translation_source(dataset)
    if source is None:
        raise UsageError(
            f"{run.path} is a translation run, and its dataset has one image domain: "
            "nothing to compare the translations with"
        )
    records = []
    roles = run.read_run_info()["roles"]
    for direction, role in _directions(run).items():
        network, checkpoint_step = load_network(run, registry, role=role, best=best)
        export = roles[role].get("export") or role
        evaluator = Evaluator(
            metrics,
            direction_dataset(dataset, direction),
            dataset_key={**dataset_key, "domain": direction[-1]},
            conditions=[source],
            latent_dim=1,
            split=split,
            n=n,
            seed=seed,
            context=context,
            log=log,
        )
        step, weights = provenance(run, checkpoint_step, best=best, export=f"{export}.keras")
        records += evaluator.evaluate(
            _Translator(network, source), step, {"weights": weights, "direction": direction}
        )
    return records


class _Translator:
    """A translation network called as the evaluator calls a generator (a dict of
    inputs; the noise it is given is not used)."""

    def __init__(self, network: Any, source: str) -> None:
        self.network, self.source = network, source

    def __call__(self, inputs: Mapping[str, Any], training: bool = False) -> Any:
        return self.network(inputs[self.source], training=training)
