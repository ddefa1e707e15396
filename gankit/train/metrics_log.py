"""A run's ``metrics.jsonl`` and its TensorBoard events."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from gankit.io.files import append_jsonl
from gankit.run.rundir import RunDir

__all__ = ["MetricsLog"]


class MetricsLog:
    """``metrics.jsonl`` lines and TensorBoard scalars at each logging step."""

    def __init__(self, run: RunDir) -> None:
        import tensorflow as tf

        self.run = run
        self._writer = tf.summary.create_file_writer(str(run.tensorboard_dir))

    def write(self, record: Mapping[str, Any]) -> None:
        import tensorflow as tf

        append_jsonl(self.run.metrics_file, record)
        with self._writer.as_default():
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)) and math.isfinite(value):
                    tf.summary.scalar(key, value, step=record["step"])
        self._writer.flush()

    def image(self, name: str, grid: np.ndarray, step: int) -> None:
        import tensorflow as tf

        with self._writer.as_default():
            tf.summary.image(name, grid[None], step=step)

    def close(self) -> None:
        self._writer.close()
