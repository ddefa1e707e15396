"""The sample grids a run writes while it trains: fixed noise and test-split conditions,
so grids from different steps show the same examples."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gankit.eval.sampling import class_inputs
from gankit.io.images import class_grid, paired_grid, save_png
from gankit.plugin.building import class_names, take_examples
from gankit.run.config import RunConfig
from gankit.run.rundir import RunDir
from gankit.types import LABEL

__all__ = ["SAMPLE_COUNT", "PER_CLASS", "SampleGrid"]

SAMPLE_COUNT = {False: 64, True: 32}  # grid size: unconditional, conditional
PER_CLASS = 8  # columns of a label-conditional run's grid (one row per class)
SCHEME_SAMPLES = 16  # examples in the grid of a scheme that draws its own (a translation's)


class SampleGrid:
    """``samples/step_XXXXXX.png`` (content | style | output cells for a conditional
    run; one row per class, named, for a run conditioned on the label alone) and the
    same grid in TensorBoard."""

    def __init__(self, config: RunConfig, dataset: Any, run: RunDir, scheme: Any = None) -> None:
        self.scheme_samples = getattr(scheme, "samples", None)  # a scheme's own grid columns
        if self.scheme_samples is not None:
            self.run, self.names = run, ()
            self.inputs = take_examples(dataset, "test", SCHEME_SAMPLES)
            return
        self.conditions = list(config.condition or [])
        self.images = [c for c in self.conditions if c != LABEL]  # shown beside the outputs
        self.run = run
        self.names: tuple[str, ...] = ()
        if LABEL in self.conditions and not self.images:
            self.names = class_names(dataset)
            self.inputs = class_inputs(
                list(range(len(self.names))), PER_CLASS, config.latent_dim, config.seed
            )
            return
        n = SAMPLE_COUNT[bool(self.conditions)]
        rng = np.random.default_rng(config.seed)
        self.inputs = {"z": rng.standard_normal((n, config.latent_dim)).astype(np.float32)}
        if self.conditions:
            examples = take_examples(dataset, "test", n)
            self.inputs.update({c: examples[c] for c in self.conditions})

    def write(self, network: Callable[[str], Any], generator: Any, step: int) -> np.ndarray:
        """Write the grid at ``step`` and return it (uint8 (H, W, 3), before any scaling):
        ``network(role)`` gives a role's network to sample (the average with
        ``--ema-decay``), ``generator`` the first exported one."""
        if self.scheme_samples is not None:
            columns = [np.asarray(c) for c in self.scheme_samples(network, self.inputs)]
            grid = paired_grid(columns)
            save_png(grid, self.run.sample_path(step), scale=2 if columns[0].shape[1] <= 32 else 1)
            return grid
        images = np.asarray(generator(self.inputs, training=False))
        scale = 2 if images.shape[1] <= 32 else 1
        if self.names:
            grid = class_grid(images, self.names, scale=scale)
            save_png(grid, self.run.sample_path(step))
        else:
            grid = paired_grid([self.inputs[c] for c in self.images] + [images])
            save_png(grid, self.run.sample_path(step), scale=scale)
        return grid
