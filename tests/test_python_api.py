"""gankit from Python: gankit.training, gankit.Run, callbacks, loggers, register_plugin."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import gankit
from gankit.cli import cli

REPO = Path(__file__).resolve().parent.parent

TINY = {
    "options": {"generator.width": 8, "discriminator.width": 8},
    "batch_size": 8,
    "log_every": 2,
    "sample_every": 2,
    "checkpoint_every": 2,
    "progress": False,
}


class Recorder(gankit.Callback):
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def on_train_begin(self, run):
        self.events.append(("begin", run.path.name))

    def on_step_end(self, step, logs):
        self.events.append(("step", step, sorted(logs)))

    def on_sample(self, step, grid):
        self.events.append(("sample", step, grid.dtype.name, grid.ndim))

    def on_checkpoint(self, step, path):
        self.events.append(("checkpoint", step, path.name))

    def on_export(self, role, path):
        self.events.append(("export", role, path.name))

    def on_train_end(self, status):
        self.events.append(("end", status))


def test_train_from_python_samples_a_class_evaluates_and_resumes_from_the_cli(tmp_path, tiny_data):
    out = tmp_path / "p"
    recorder = Recorder()
    run = gankit.train(
        out, dataset="mnist", condition="label", steps=4, callbacks=[recorder], **TINY
    )
    assert isinstance(run, gankit.Run) and run.status == "finished"
    assert run.sample(8, class_=3).shape == (8, 32, 32, 1)  # MNIST: one channel
    assert [r["step"] for r in run.metrics()] == [2, 4]
    kinds = [e[0] for e in recorder.events]
    assert kinds[0] == "begin" and kinds[-1] == "end" and recorder.events[-1] == ("end", "finished")
    assert ("checkpoint", 4, "step_000004.npz") in recorder.events
    assert ("export", "generator", "generator.keras") in recorder.events
    assert ("sample", 2, "uint8", 3) in recorder.events
    assert run.grid().ndim == 3 and "<img" in run._repr_html_()
    result = run.evaluate(["class-accuracy"], n=40)
    record = result["class-accuracy"]
    assert 0 <= record["value"] <= 1 and record["protocol"]["n"] == 40
    resumed = CliRunner().invoke(cli, ["train", "--out", str(out), "--steps", "6"])
    assert resumed.exit_code == 0, resumed.output
    assert "resuming" in resumed.output and "from step 4" in resumed.output
    assert [r["step"] for r in gankit.Run(out).metrics()] == [2, 4, 6]


def test_a_bad_option_raises_the_clis_error_and_writes_nothing(tmp_path, tiny_data):
    out = tmp_path / "bad"
    with pytest.raises(gankit.OptionError) as raised:
        gankit.train(out, dataset="mnist", options={"generator.nosuch": 1}, progress=False)
    cli_run = CliRunner().invoke(
        cli, ["train", "--dataset", "mnist", "-o", "generator.nosuch=1", "--out", str(out)]
    )
    assert cli_run.exit_code == 2
    assert cli_run.output.strip().splitlines()[-1] == f"Error: {raised.value}"
    assert not out.exists()
    with pytest.raises(gankit.ConfigError, match="unknown setting 'stepz'"):
        gankit.train(out, stepz=3)


def test_a_failing_callback_ends_the_run_in_one_line_and_keeps_the_checkpoint(tmp_path, tiny_data):
    class Boom(gankit.Callback):
        def on_step_end(self, step, logs):
            if step == 4:
                raise RuntimeError("no disk for my dashboard")

    out = tmp_path / "boom"
    with pytest.raises(gankit.CallbackError) as raised:
        gankit.train(out, dataset="mnist", steps=6, callbacks=[Boom()], **TINY)
    assert str(raised.value) == (
        "callback 'Boom' failed in on_step_end: RuntimeError: no disk for my dashboard"
    )
    assert (out / "checkpoints" / "step_000002.npz").is_file()
    assert json.loads((out / "run.json").read_text())["status"] == "failed"


class BrokenLogger:
    def __init__(self, context, *, fail_at: str = "start"):
        if fail_at == "start":
            raise ConnectionError("tracking server unreachable")
        self.fail_at = fail_at

    def on_step_end(self, step, logs):
        raise ValueError("dropped a row")


class BrokenLoggers:
    @gankit.hookimpl
    def register_loggers(self, register):
        register("broken", BrokenLogger)


def test_the_csv_logger_replaces_the_default_and_a_plugin_cell_registers_twice(tmp_path, tiny_data):
    gankit.register_plugin(BrokenLoggers())
    gankit.register_plugin(BrokenLoggers())  # a notebook cell run twice: replaced, not refused
    out = tmp_path / "csv"
    runner = CliRunner()
    common = ["--dataset", "mnist", "--steps", "4", "-o", "generator.width=8"]
    common += ["-o", "discriminator.width=8", "--batch-size", "8", "--log-every", "2"]
    ok = runner.invoke(cli, ["train", *common, "--logger", "csv", "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    with (out / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [2, 4] and "d_loss" in rows[0]
    assert not any((out / "tensorboard").iterdir())  # naming a logger replaces the default


def test_a_logger_that_cannot_start_stops_the_run_before_any_step(tmp_path, tiny_data):
    gankit.register_plugin(BrokenLoggers())
    out = tmp_path / "r"
    with pytest.raises(gankit.CallbackError, match="logger 'broken' .*failed to start: "):
        gankit.train(out, dataset="mnist", loggers=["broken"], steps=2, **TINY)
    assert not out.exists()
    out2 = tmp_path / "r2"
    run = gankit.train(
        out2,
        dataset="mnist",
        loggers=["broken", "csv"],
        steps=4,
        **{**TINY, "options": {**TINY["options"], "logger.fail_at": "step"}},
    )
    assert run.status == "finished" and len(run.metrics()) == 2  # warned once, went on
    assert np.isfinite(run.metrics()[-1]["d_loss"])


def test_the_mlflow_logger_records_params_metrics_grids_and_the_export(
    tmp_path, tiny_data, monkeypatch
):
    import mlflow

    monkeypatch.chdir(tmp_path)
    args = ["train", "--dataset", "mnist", "--steps", "4", "--out", "runs/m", "--batch-size", "8"]
    args += ["-o", "generator.width=8", "-o", "discriminator.width=8", "--log-every", "2"]
    args += ["--sample-every", "2", "--logger", "mlflow", "-o", "logger.tracking_uri=file:./mlruns"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    runs = mlflow.search_runs(experiment_names=["gankit"], output_format="list")
    assert len(runs) == 1
    found = runs[0]
    assert found.info.status == "FINISHED" and found.info.run_name == "m"
    assert (
        found.data.params["dataset"] == "mnist"
        and found.data.params["options.generator.width"] == "8"
    )
    client = mlflow.tracking.MlflowClient(uri)
    history = client.get_metric_history(found.info.run_id, "d_loss")
    assert [m.step for m in history] == [2, 4]
    logged = [
        json.loads(line) for line in (tmp_path / "runs/m/metrics.jsonl").read_text().splitlines()
    ]
    assert [m.value for m in history] == pytest.approx([r["d_loss"] for r in logged])
    artifacts = {a.path for a in client.list_artifacts(found.info.run_id)}
    assert {"samples", "models"} <= artifacts
    models = [a.path for a in client.list_artifacts(found.info.run_id, "models")]
    samples = [a.path for a in client.list_artifacts(found.info.run_id, "samples")]
    assert models == ["models/generator.keras"] and "samples/step_000002.png" in samples


def test_the_example_notebook_runs_and_shows_a_grid(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient
    from PIL import Image

    folder = tmp_path / "pictures"
    rng = np.random.default_rng(0)
    for k, name in enumerate(("reds", "blues")):
        (folder / name).mkdir(parents=True)
        for i in range(50):
            pixels = rng.integers(0, 60, (40, 40, 3), dtype=np.uint8)
            pixels[..., 0 if k == 0 else 2] += 150
            Image.fromarray(pixels).save(folder / name / f"{i}.png")
    for key, value in {
        "FOLDER": str(folder),
        "STEPS": "4",
        "WIDTH": "8",
        "OUT": str(tmp_path / "runs" / "nb"),
        "EVAL_N": "2",
        "BATCH": "8",
    }.items():
        monkeypatch.setenv(f"GANKIT_EXAMPLE_{key}", value)
    notebook = nbformat.read(REPO / "examples" / "notebook.ipynb", as_version=4)
    NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    pictures = [o for o in outputs if "image/png" in o.get("data", {})]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert len(pictures) >= 2 and any("<img" in h for h in html)
    assert any("FID (classifier features)" in o.get("text", "") for o in outputs)


def test_the_contract_kit_checks_loggers():
    from gankit.testing import check_logger

    with pytest.raises(AssertionError, match="on_step_end raised ValueError: dropped a row"):
        check_logger(BrokenLogger, options={"fail_at": "step"})

    class Eager:
        def __init__(self, context):
            context.run_dir.mkdir(parents=True)

        def on_step_end(self, step, logs):
            pass

    with pytest.raises(AssertionError, match="the factory wrote into the run directory"):
        check_logger(Eager)


def test_gankit_check_passes_the_builtin_loggers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["check", "loggers"])
    assert result.exit_code == 0, result.output
    for name in ("jsonl", "tensorboard", "csv", "mlflow"):
        assert f"ok   logger '{name}' (check_logger)" in result.output


def test_train_runs_in_a_thread(tmp_path, tiny_data):
    """A notebook or an app may train off the main thread (no signal handlers there)."""
    import threading

    found: dict[str, object] = {}

    def work() -> None:
        try:
            found["run"] = gankit.train(tmp_path / "t", dataset="mnist", steps=2, **TINY)
        except Exception as exc:  # surfaced below
            found["error"] = exc

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=600)
    assert "error" not in found, found.get("error")
    assert found["run"].status == "finished"
