"""The sample grids a run writes while it trains: fixed noise and test-split conditions,
so grids from different steps show the same examples."""

from __future__ import annotations

from typing import Any

import numpy as np

from gankit.io.images import paired_grid, save_png
from gankit.plugin.building import take_examples
from gankit.run.config import RunConfig
from gankit.run.rundir import RunDir

__all__ = ["SAMPLE_COUNT", "SampleGrid"]

SAMPLE_COUNT = {False: 64, True: 32}  # grid size: unconditional, conditional


class SampleGrid:
    """``samples/step_XXXXXX.png`` (content | style | output cells for a conditional
    run) and the same grid in TensorBoard."""

    def __init__(self, config: RunConfig, dataset: Any, run: RunDir) -> None:
        self.conditions = list(config.condition or [])
        self.run = run
        n = SAMPLE_COUNT[bool(self.conditions)]
        rng = np.random.default_rng(config.seed)
        self.inputs = {"z": rng.standard_normal((n, config.latent_dim)).astype(np.float32)}
        if self.conditions:
            examples = take_examples(dataset, "test", n)
            self.inputs.update({c: examples[c] for c in self.conditions})

    def write(self, generator: Any, step: int, metrics: Any) -> None:
        images = np.asarray(generator(self.inputs, training=False))
        grid = paired_grid([self.inputs[c] for c in self.conditions] + [images])
        save_png(grid, self.run.sample_path(step), scale=2 if images.shape[1] <= 32 else 1)
        metrics.image("samples", grid, step)
