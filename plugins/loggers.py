"""The built-in experiment loggers (``--logger NAME``; the hook spec states the contract).

- ``jsonl``: ``metrics.jsonl``, one JSON row per logging step; every run writes it
  (``gankit.Run.metrics()``, resuming and the benchmarks read it).
- ``tensorboard``: TensorBoard events in ``tensorboard/``: every logged number, and the
  sample grids as images; on unless ``--logger`` names others.
- ``csv``: ``metrics.csv`` (or ``-o logger.csv_path=FILE``), one row per logging step;
  a column that appears later (an evaluation) rewrites the header.
- ``mlflow``: an MLflow run: the config as params, every logged number at its step, the
  sample grids and the exported networks as artifacts; a resumed gankit run continues
  its MLflow run. ``-o logger.tracking_uri=URI``, else ``MLFLOW_TRACKING_URI``, else
  ``file:./mlruns`` (MLflow's local file store: no server, and ``mlflow-skinny``
  writes it; gankit sets ``MLFLOW_ALLOW_FILE_STORE``, which MLflow 3 asks for, when a
  file store is used); ``-o logger.experiment``.
  Needs ``pip install 'gankit[mlflow]'``.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gankit


def _numbers(logs: Mapping[str, Any]) -> dict[str, float]:
    """The finite numbers of a row, but its step."""
    return {
        k: float(v)
        for k, v in logs.items()
        if k != "step"
        and isinstance(v, (int, float))
        and not isinstance(v, bool)
        and math.isfinite(v)
    }


class JsonlLogger:
    """``metrics.jsonl``: one JSON row per logging step (appended, flushed each row)."""

    def __init__(self, context: gankit.LoggerContext) -> None:
        self.path = Path(context.run_dir) / "metrics.jsonl"

    def on_step_end(self, step: int, logs: Mapping[str, Any]) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(dict(logs)) + "\n")


class TensorBoardLogger:
    """TensorBoard scalars at each logging step and the sample grids as images."""

    def __init__(self, context: gankit.LoggerContext, *, folder: str = "tensorboard") -> None:
        self.folder = Path(context.run_dir) / folder
        self._writer: Any = None

    def on_train_begin(self, run: Any) -> None:
        import tensorflow as tf

        self._writer = tf.summary.create_file_writer(str(self.folder))

    def on_step_end(self, step: int, logs: Mapping[str, Any]) -> None:
        import tensorflow as tf

        with self._writer.as_default():
            for key, value in _numbers(logs).items():
                tf.summary.scalar(key, value, step=step)
        self._writer.flush()

    def on_sample(self, step: int, grid: Any) -> None:
        import tensorflow as tf

        with self._writer.as_default():
            tf.summary.image("samples", grid[None], step=step)
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


class CsvLogger:
    """``metrics.csv``: a header of every column seen, one row per logging step."""

    def __init__(self, context: gankit.LoggerContext, *, csv_path: str = "metrics.csv") -> None:
        path = Path(csv_path).expanduser()
        self.path = path if path.is_absolute() else Path(context.run_dir) / path
        self.start_step = context.start_step
        self.columns: list[str] = []

    def on_train_begin(self, run: Any) -> None:
        rows = []
        if self.start_step and self.path.is_file():  # resumed: keep the rows up to its step
            with self.path.open(newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(float(r["step"])) <= self.start_step]
        self.columns = list(rows[0]) if rows else []
        self._rewrite(rows)

    def on_step_end(self, step: int, logs: Mapping[str, Any]) -> None:
        row = {"step": step, **_numbers(logs)}
        new = [k for k in row if k not in self.columns]
        if new:  # a column not seen before: rewrite the file under the wider header
            rows = []
            if self.path.is_file():
                with self.path.open(newline="") as f:
                    rows = list(csv.DictReader(f))
            self.columns += new
            self._rewrite([*rows, row])
            return
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, self.columns).writerow(row)

    def _rewrite(self, rows: list[Mapping[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("w", newline="") as f:
            writer = csv.DictWriter(f, self.columns)
            writer.writeheader()
            writer.writerows(rows)


def _flat(prefix: str, value: Any) -> dict[str, str]:
    if isinstance(value, Mapping):
        out: dict[str, str] = {}
        for key, inner in value.items():
            out.update(_flat(f"{prefix}.{key}" if prefix else str(key), inner))
        return out
    return {prefix: str(value)[:6000]}  # MLflow's limit on a param's value


def _is_file_store(uri: str) -> bool:
    """``file:./mlruns`` or a plain path: MLflow's local file store."""
    return (
        uri.startswith("file:")
        or "://" not in uri
        and not uri.startswith(("sqlite:", "databricks", "http"))
    )


class MlflowLogger:
    """An MLflow run for the gankit run (module docstring), through ``MlflowClient``: a
    notebook's own active MLflow run is left alone."""

    ID_FILE = "mlflow_run.json"  # the MLflow run a resumed gankit run continues

    def __init__(
        self,
        context: gankit.LoggerContext,
        *,
        tracking_uri: str | None = None,
        experiment: str = "gankit",
        run_name: str | None = None,
    ) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise gankit.ConfigError(
                "the mlflow logger needs MLflow: pip install 'gankit[mlflow]'"
            ) from None
        # MLflow 3's own default is a SQLite store, which needs the full `mlflow`
        # package; gankit's is the local file store, which `mlflow-skinny` can write.
        tracking_uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or "file:./mlruns"
        if _is_file_store(tracking_uri):
            # An absolute URI: MLflow caches its stores by URI, so a relative one would
            # follow the first working directory it was used in.
            local = (
                tracking_uri[len("file:") :] if tracking_uri.startswith("file:") else tracking_uri
            )
            if not local.startswith("/"):
                tracking_uri = Path(local).expanduser().resolve().as_uri()
            # MLflow 3 refuses its file store unless asked; naming one is asking.
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.context = context
        self.client = MlflowClient(tracking_uri=tracking_uri)
        self.experiment, self.run_name = experiment, run_name or Path(context.run_dir).name
        self.run_id: str | None = None

    def on_train_begin(self, run: Any) -> None:
        id_file = Path(self.context.run_dir) / self.ID_FILE
        if self.context.start_step and id_file.is_file():
            self.run_id = json.loads(id_file.read_text())["run_id"]
            self.client.update_run(self.run_id, status="RUNNING")
            return
        found = self.client.get_experiment_by_name(self.experiment)
        experiment_id = (
            found.experiment_id if found else self.client.create_experiment(self.experiment)
        )
        created = self.client.create_run(
            experiment_id, run_name=self.run_name, tags={"gankit.run_dir": str(run.path)}
        )
        self.run_id = created.info.run_id
        id_file.write_text(json.dumps({"run_id": self.run_id, "experiment": self.experiment}))
        from mlflow.entities import Param

        params = _flat("", dict(self.context.config))
        params.pop("sources", None)
        items = [Param(k, v) for k, v in sorted(params.items()) if not k.startswith("sources.")]
        for i in range(0, len(items), 100):  # MLflow takes at most 100 params a batch
            self.client.log_batch(self.run_id, params=items[i : i + 100])

    def on_step_end(self, step: int, logs: Mapping[str, Any]) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, step) for k, v in _numbers(logs).items()]
        self.client.log_batch(self.run_id, metrics=metrics)

    def on_sample(self, step: int, grid: Any) -> None:
        self.client.log_image(self.run_id, grid, f"samples/step_{step:06d}.png")

    def on_export(self, role: str, path: Path) -> None:
        self.client.log_artifact(self.run_id, str(path), "models")

    def on_train_end(self, status: str) -> None:
        if self.run_id is not None:
            mlflow_status = {"finished": "FINISHED", "interrupted": "KILLED"}.get(status, "FAILED")
            self.client.set_terminated(self.run_id, status=mlflow_status)


@gankit.hookimpl
def register_loggers(register):
    register("jsonl", JsonlLogger, summary="metrics.jsonl, one row per logging step (always on)")
    register(
        "tensorboard", TensorBoardLogger, summary="TensorBoard scalars and sample grids (default)"
    )
    register("csv", CsvLogger, summary="metrics.csv, one row per logging step")
    register(
        "mlflow",
        MlflowLogger,
        summary="an MLflow run: params, metrics by step, grids and exports (gankit[mlflow])",
    )
