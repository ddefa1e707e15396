"""What the trainer does around the training steps: progress, metrics, samples, checkpoints."""

from __future__ import annotations

import io
import math
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gankit.errors import GankitError
from gankit.rundir import RunDir
from gankit.runfiles import append_jsonl, atomic_write_bytes

__all__ = ["Progress", "MetricsLog", "CheckpointStore", "model_variables"]


class Progress:
    """A live bar on a terminal; a plain line per logging step elsewhere (CI, nohup)."""

    def __init__(self, total: int, initial: int, *, live: bool | None = None, stream: Any = None) -> None:
        self.total, self.initial = total, initial
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("step"),
                MofNCompleteColumn(),
                BarColumn(),
                TextColumn("{task.fields[stats]}"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("train", total=self.total, completed=self.initial, stats="")
        return self

    def update(self, step: int, record: Mapping[str, Any] | None = None) -> None:
        stats = _format_stats(record) if record else None
        if self._bar is not None:
            kwargs = {"stats": stats} if stats else {}
            self._bar.update(self._task, completed=step, **kwargs)
        elif record is not None:
            eta = ""
            ips = record.get("images_per_sec") or 0
            if ips > 0 and record.get("batch_size"):
                seconds = (self.total - step) * record["batch_size"] / ips
                eta = f"  eta {_hms(seconds)}"
            print(f"step {step}/{self.total}  {stats}{eta}", file=self.stream, flush=True)

    def message(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=self.stream, flush=True)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


_PLAIN_KEYS = {"step", "d_loss", "g_loss", "images_per_sec", "elapsed_s", "batch_size"}


def _format_stats(record: Mapping[str, Any]) -> str:
    """Losses and speed, then any evaluation results of this step (``fid 12.3``)."""
    extra = "".join(
        f"  {key} {value:.4g}" for key, value in record.items()
        if key not in _PLAIN_KEYS and isinstance(value, (int, float))
    )
    return (
        f"d_loss {record['d_loss']:.4f}  g_loss {record['g_loss']:.4f}  "
        f"{record['images_per_sec']:.0f} img/s{extra}"
    )


def _hms(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


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


def model_variables(models: Mapping[str, Any], optimizers: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Every variable a checkpoint holds, by group, in a stable order."""
    groups = {f"{name}/weights": list(model.weights) for name, model in models.items()}
    groups.update({f"{name}/optimizer": list(opt.variables) for name, opt in optimizers.items()})
    return groups


class CheckpointStore:
    """Checkpoints as ``.npz`` files of every variable, written atomically, last N kept.

    Each file holds the arrays ``<group>/<index>`` plus ``__step__`` and ``__meta__``
    (JSON: variable paths and shapes), so a restore checks it matches the models before
    assigning anything.
    """

    def __init__(self, run: RunDir, keep: int) -> None:
        self.run, self.keep = run, keep

    def save(self, step: int, groups: Mapping[str, Sequence[Any]]) -> Path:
        """``checkpoints/step_XXXXXX.npz``; older ones beyond the last N are removed."""
        path = self.save_as(self.run.checkpoint_path(step), step, groups)
        for _, old in self.run.checkpoints()[: -self.keep]:
            old.unlink(missing_ok=True)
        return path

    @staticmethod
    def save_as(path: Path, step: int, groups: Mapping[str, Sequence[Any]]) -> Path:
        """Write a checkpoint of ``groups`` at ``step`` to ``path``, atomically."""
        import json

        arrays: dict[str, np.ndarray] = {"__step__": np.asarray(step, np.int64)}
        meta = {}
        for group, variables in groups.items():
            meta[group] = [[_var_name(v), list(v.shape)] for v in variables]
            for i, v in enumerate(variables):
                arrays[f"{group}/{i:04d}"] = np.asarray(v.numpy() if hasattr(v, "numpy") else v)
        arrays["__meta__"] = np.asarray(json.dumps(meta))
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return atomic_write_bytes(path, buffer.getvalue())

    @staticmethod
    def load(path: Path, groups: Mapping[str, Sequence[Any]]) -> int:
        """Assign the checkpoint's values to ``groups``' variables; return its step."""
        import json
        import zipfile

        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["__meta__"]))
                for group, variables in groups.items():
                    if group not in meta or len(meta[group]) != len(variables):
                        raise GankitError(
                            f"checkpoint {path} does not match the models ({group}); "
                            "was it made with another config?"
                        )
                    values = [data[f"{group}/{i:04d}"] for i in range(len(variables))]
                    for v, value in zip(variables, values):
                        if tuple(v.shape) != value.shape:
                            raise GankitError(
                                f"checkpoint {path}: {_var_name(v)} has shape {value.shape}, "
                                f"the model has {tuple(v.shape)}"
                            )
                    for v, value in zip(variables, values):
                        v.assign(value)
                return int(data["__step__"])
        except GankitError:
            raise
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise GankitError(f"checkpoint {path} is corrupt or truncated ({exc})") from None


def _var_name(v: Any) -> str:
    return str(getattr(v, "path", None) or getattr(v, "name", "?"))


class Stopwatch:
    """Training time only: sample and checkpoint writes happen outside ``running()``."""

    def __init__(self) -> None:
        self.total = 0.0
        self._start: float | None = None

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._start is not None
        self.total += time.perf_counter() - self._start
        self._start = None

    def lap(self) -> float:
        value, self.total = self.total, 0.0
        return value
