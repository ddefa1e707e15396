"""Training end to end on tiny made-up data with tiny models."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gankit.cli import cli
from gankit.io.toml import loads_toml

PLUGINS = Path(__file__).parent / "fixtures" / "plugins"
TINY = [
    "--batch-size",
    "8",
    "--latent-dim",
    "8",
    "--log-every",
    "2",
    "--sample-every",
    "3",
    "--checkpoint-every",
    "3",
    "-o",
    "generator.width=4",
    "-o",
    "discriminator.width=4",
]


def train(out: Path, *args: str, code: int = 0):
    result = CliRunner().invoke(cli, ["train", "--out", str(out), *TINY, *args])
    assert result.exit_code == code, (result.output, result.exception)
    return result


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_run_directory_is_complete(tmp_path, tiny_data):
    out = tmp_path / "R"
    train(out, "--steps", "6")
    assert (out / "config.toml").is_file() and (out / "generator.keras").is_file()
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        "step_000003.png",
        "step_000006.png",
    ]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "step_000003.npz",
        "step_000006.npz",
    ]
    assert any(p.name.startswith("events.out.tfevents") for p in (out / "tensorboard").iterdir())
    info = json.loads((out / "run.json").read_text())
    for key in (
        "gankit",
        "tensorflow",
        "keras",
        "plugins",
        "seed",
        "devices",
        "generator_params",
        "discriminator_params",
    ):
        assert key in info
    assert info["status"] == "finished" and info["step"] == 6 and info["replicas"] == 1
    assert info["generator_params"] > 0 and info["discriminator_params"] > 0
    assert info["plugins"] == {
        "gan": "0.1.0",
        "dcgan": "0.1.0",
        "minimax": "0.1.0",
        "mnist-cifar": "0.1.0",
    }
    assert info["scheme"] == "gan" and set(info["parameters"]) == {"generator", "discriminator"}
    rows = metrics(out)
    assert [r["step"] for r in rows] == [2, 4, 6]
    for r in rows:
        assert set(r) == {"step", "d_loss", "g_loss", "g_l1", "images_per_sec", "elapsed_s"}
        assert np.isfinite(r["d_loss"]) and r["images_per_sec"] > 0
    config = loads_toml((out / "config.toml").read_text())
    assert (
        config["condition"] == ["content", "style"] and config["options"]["generator"]["width"] == 4
    )


def test_resume_continues_exactly_where_a_straight_run_goes(tmp_path, tiny_data):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    train(straight, "--steps", "10")
    train(resumed, "--steps", "6")
    result = CliRunner().invoke(cli, ["train", "--out", str(resumed), "--steps", "10"])
    assert result.exit_code == 0, result.output
    assert "resuming" in result.stderr and "from step 6" in result.stderr
    a, b = metrics(straight), metrics(resumed)
    assert [r["step"] for r in b] == [2, 4, 6, 8, 10]
    for x, y in zip(a, b):
        assert x["d_loss"] == pytest.approx(y["d_loss"], rel=1e-4, abs=1e-5)
        assert x["g_loss"] == pytest.approx(y["g_loss"], rel=1e-4, abs=1e-5)


def test_resume_falls_back_past_a_truncated_latest_checkpoint(tmp_path, tiny_data):
    out = tmp_path / "R"
    train(out, "--steps", "6", "--keep-checkpoints", "5")
    latest = out / "checkpoints" / "step_000006.npz"
    data = latest.read_bytes()
    latest.write_bytes(data[: len(data) // 2])  # cut short, as by a full disk or a killed copy
    result = CliRunner().invoke(cli, ["train", "--out", str(out), "--steps", "9"])
    assert result.exit_code == 0, (result.output, result.exception)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert (
        len(warnings) == 1 and "step_000006.npz" in warnings[0] and "step_000003.npz" in warnings[0]
    )
    assert "resuming" in result.stderr and "from step 3" in result.stderr
    kept = out / "checkpoints" / "step_000006.npz.corrupt"
    assert kept.read_bytes() == data[: len(data) // 2]  # set aside, not deleted
    assert [r["step"] for r in metrics(out)] == [
        2,
        4,
        6,
        8,
        9,
    ]  # the rows after step 3 were retrained
    assert (out / "checkpoints" / "step_000009.npz").is_file()


def test_lr_decay_is_recorded_and_validated(tmp_path, tiny_data):
    out = tmp_path / "R"
    train(out, "--steps", "4", "--lr-decay", "0.5")
    assert loads_toml((out / "config.toml").read_text())["lr_decay"] == 0.5
    result = train(tmp_path / "bad", "--steps", "4", "--lr-decay", "1.5", code=2)
    assert "--lr-decay" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("d_steps", ["1", "2"])
def test_the_update_rules_train_and_differ(tmp_path, tiny_data, d_steps):
    runs = {}
    for update in ("alternating", "simultaneous"):
        out = tmp_path / update
        train(
            out,
            "--steps",
            "1",
            "--log-every",
            "1",
            "--update",
            update,
            "--d-steps",
            d_steps,
            "--precision",
            "float32",
        )
        assert f'update = "{update}"' in (out / "config.toml").read_text()
        runs[update] = metrics(out)[0]
        assert np.isfinite(runs[update]["d_loss"]) and np.isfinite(runs[update]["g_loss"])
    alternating, simultaneous = runs["alternating"], runs["simultaneous"]
    # Same weights, batch and fakes: the D losses agree; G's does not, because the
    # alternating G update meets the D that has just been updated.
    np.testing.assert_allclose(alternating["d_loss"], simultaneous["d_loss"], rtol=1e-5)
    assert abs(alternating["g_loss"] - simultaneous["g_loss"]) > 1e-4


def test_resume_drops_metrics_logged_after_the_checkpoint(tmp_path, tiny_data):
    out = tmp_path / "R"
    train(out, "--steps", "6")
    (out / "checkpoints" / "step_000006.npz").unlink()  # as if killed between log and checkpoint
    (out / "generator.keras").unlink()
    train(out, "--steps", "8")
    assert [r["step"] for r in metrics(out)] == [2, 4, 6, 8]


def test_finished_run_is_not_overwritten_and_conflicts_need_force(tmp_path, tiny_data):
    out = tmp_path / "R"
    train(out, "--steps", "3")
    before = (out / "generator.keras").read_bytes()
    result = train(out, "--steps", "3", code=1)
    assert "already trained to step 3" in result.stderr
    assert (out / "generator.keras").read_bytes() == before
    result = train(out, "--steps", "5", "--lr-g", "0.001", code=2)
    assert "lr_g: 0.0004 -> 0.001" in result.stderr and "--force" in result.stderr
    train(out, "--steps", "5", "--lr-g", "0.001", "--force")
    assert "lr_g = 0.001" in (out / "config.toml").read_text()


def test_refuses_a_folder_that_is_not_a_run(tmp_path, tiny_data):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    result = train(out, "--steps", "3", code=1)
    assert "is not a gankit run directory" in result.stderr
    assert (out / "thesis.tex").read_text() == "precious"


def test_unwritable_out_is_a_clear_error(tmp_path, tiny_data):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = train(blocker / "R", "--steps", "3", code=1)
    assert result.stderr.startswith("Error: cannot write") and result.stderr.count("\n") == 1
    assert "Not a directory" in result.stderr


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, tiny_data):
    out = tmp_path / "R"
    result = CliRunner().invoke(
        cli,
        [
            "--plugin",
            str(PLUGINS / "extra_loss.py"),
            "train",
            "--out",
            str(out),
            *TINY,
            "--steps",
            "12",
            "--loss",
            "nan-after",
            "-o",
            "loss.steps=4",
        ],
    )
    assert result.exit_code == 1
    last = result.stderr.splitlines()[-1]
    assert last.startswith("Error: non-finite loss at step 5 (d_loss=nan")
    assert last.endswith("stopped; the last good checkpoint is step 3")
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["step_000003.npz"]
    assert json.loads((out / "run.json").read_text())["status"] == "failed"


def test_unconditional_run_sample_and_export(tmp_path, tiny_data):
    out = tmp_path / "U"
    train(out, "--steps", "3", "--condition", "none", "--dataset", "mnist")
    npz = tmp_path / "s.npz"
    result = CliRunner().invoke(cli, ["sample", "--run", str(out), "-n", "5", "--npz", str(npz)])
    assert result.exit_code == 0, result.output
    arrays = np.load(npz)
    assert arrays.files == ["images"] and arrays["images"].shape == (5, 32, 32, 1)
    assert arrays["images"].min() >= -1 and arrays["images"].max() <= 1


def test_conditional_sample_and_transfer(tmp_path, tiny_data):
    from PIL import Image, ImageDraw

    out = tmp_path / "C"
    train(out, "--steps", "3")
    npz = tmp_path / "s.npz"
    result = CliRunner().invoke(
        cli,
        [
            "sample",
            "--run",
            str(out),
            "-n",
            "6",
            "--npz",
            str(npz),
            "--out",
            str(tmp_path / "s.png"),
        ],
    )
    assert result.exit_code == 0, result.output
    arrays = np.load(npz)
    assert sorted(arrays.files) == ["content", "images", "label", "style"]
    assert arrays["images"].shape == (6, 32, 32, 3) and arrays["content"].shape == (6, 32, 32, 1)

    digit = Image.new("L", (123, 201), 255)
    ImageDraw.Draw(digit).line([(60, 20), (60, 180)], fill=0, width=15)
    digit.save(tmp_path / "a.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (77, 140, 3), dtype=np.uint8)).save(
        tmp_path / "b.jpg"
    )
    for scale, size in (("1", (32, 32)), ("3", (96, 96))):
        target = tmp_path / f"out{scale}.png"
        result = CliRunner().invoke(
            cli,
            [
                "transfer",
                "--run",
                str(out),
                "--content",
                str(tmp_path / "a.png"),
                "--style",
                str(tmp_path / "b.jpg"),
                "-o",
                str(target),
                "--scale",
                scale,
            ],
        )
        assert result.exit_code == 0, result.output
        image = Image.open(target)
        assert image.size == size and image.mode == "RGB"


def test_transfer_content_preprocessing_makes_an_mnist_style_digit(tmp_path):
    from PIL import Image, ImageDraw

    from gankit.eval.sampling import prepare_content

    drawing = Image.new("RGB", (400, 300), "white")
    ImageDraw.Draw(drawing).rectangle(
        [300, 40, 330, 260], fill="black"
    )  # off-centre, dark on light
    drawing.save(tmp_path / "d.png")
    content = prepare_content(tmp_path / "d.png")
    assert content.shape == (32, 32, 1)
    ink = content[..., 0] > 0
    assert content[0, 0, 0] == -1.0  # background black after inversion
    rows, cols = np.where(ink)
    assert rows.max() - rows.min() + 1 <= 21  # fits the 20-pixel box
    assert abs(rows.mean() - 15.5) < 1.5 and abs(cols.mean() - 15.5) < 1.5  # centred


def test_exported_generator_loads_without_gankit(tmp_path, tiny_data):
    out = tmp_path / "R"
    train(out, "--steps", "3")
    code = (
        "import sys, keras, numpy as np\n"
        f"g = keras.models.load_model({str(out / 'generator.keras')!r}, safe_mode=True)\n"
        "x = g({'z': np.zeros((2, 8), 'float32'), 'content': np.zeros((2, 32, 32, 1), 'float32'),"
        " 'style': np.zeros((2, 32, 32, 3), 'float32')})\n"
        "assert tuple(x.shape) == (2, 32, 32, 3), x.shape\n"
        "assert not any(m.startswith('gankit') for m in sys.modules), 'gankit was imported'\n"
        "print('ok')\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_saves_a_checkpoint_and_exits(tmp_path, tiny_data, signum, code):
    out = tmp_path / "R"
    args = [
        sys.executable,
        "-m",
        "gankit",
        "train",
        "--out",
        str(out),
        *TINY,
        "--steps",
        "100000",
        "--checkpoint-every",
        "100000",
        "--sample-every",
        "100000",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while (
            time.time() < deadline
            and not (out / "metrics.jsonl").exists()
            or not (out / "metrics.jsonl").read_text().strip()
        ):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert f"stopped by {signal.Signals(signum).name}" in err
    step = json.loads((out / "run.json").read_text())["step"]
    assert (out / "checkpoints" / f"step_{step:06d}.npz").is_file()
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"


def test_training_crosses_epoch_boundaries(tmp_path, tiny_data):
    # 160 tiny examples / batch 8 = 20 steps per epoch: 45 steps start two new epochs
    out = tmp_path / "R"
    train(
        out,
        "--steps",
        "45",
        "--log-every",
        "15",
        "--sample-every",
        "45",
        "--checkpoint-every",
        "45",
    )
    assert [r["step"] for r in metrics(out)] == [15, 30, 45]


def test_sample_uses_the_latest_checkpoint_when_the_export_is_older(
    tmp_path, tiny_data, monkeypatch
):
    from gankit.plugin.loader import load_plugins
    from gankit.run.models import load_generator
    from gankit.run.rundir import RunDir

    out = tmp_path / "R"
    train(out, "--steps", "3")
    run = RunDir(out)
    assert load_generator(run, load_plugins().registry)[1] is None  # the export, current
    # a resumed run that has not finished yet: its checkpoint is newer than the export
    train(out, "--steps", "6")
    (out / "checkpoints" / "step_000006.npz").rename(out / "checkpoints" / "step_000005.npz")
    info = json.loads((out / "run.json").read_text())
    info["exported_step"] = 3
    (out / "run.json").write_text(json.dumps(info))
    assert load_generator(run, load_plugins().registry)[1] == 5


@pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_paths_train_on_cpu(tmp_path, tiny_data, precision):
    """The GPU default (float16 with loss scaling) and the AMX default, run on the CPU."""
    out = tmp_path / "R"
    train(out, "--steps", "4", "--precision", precision, "--update", "simultaneous")
    info = json.loads((out / "run.json").read_text())
    assert info["precision"] == precision and info["status"] == "finished"
    assert all(np.isfinite(r["d_loss"]) and np.isfinite(r["g_loss"]) for r in metrics(out))


def test_bfloat16_training_takes_the_matrix_product_convolutions(tmp_path, tiny_data, monkeypatch):
    """Wide enough layers (>= 16 channels) take gankit.nn.layers' fast path inside the
    trainer's replica step, where the batch dimension is unknown when traced."""
    from gankit.nn import layers

    monkeypatch.setenv("GANKIT_FAST_PATHS", "on")  # on any CPU
    calls = []
    original = layers.patches
    monkeypatch.setattr(layers, "patches", lambda *a: calls.append(a[1:]) or original(*a))
    out = tmp_path / "R"
    wide = ["-o", "generator.width=16", "-o", "discriminator.width=16"]
    train(out, "--steps", "4", "--precision", "mixed_bfloat16", *wide)
    assert calls  # traced at least once: D's second conv and G's first transposed conv
    assert all(np.isfinite(r["d_loss"]) and np.isfinite(r["g_loss"]) for r in metrics(out))


def test_a_checkpoint_loads_back_without_the_dataset(tmp_path, tiny_data, monkeypatch):
    import keras

    from gankit.plugin.loader import load_plugins
    from gankit.run.models import load_network
    from gankit.run.rundir import RunDir

    out = tmp_path / "R"
    train(out, "--steps", "6", "--condition", "label", "--ema-decay", "0.9")
    roles = json.loads((out / "run.json").read_text())["roles"]
    assert (
        roles["generator"]["export"] == "generator"
        and roles["generator"]["spec"]["num_classes"] == 10
    )
    exported = keras.models.load_model(out / "generator.keras", safe_mode=True, compile=False)
    (out / "generator.keras").unlink()
    monkeypatch.setenv(
        "GANKIT_DATA_DIR", str(tmp_path / "nothing-here")
    )  # building the dataset would fail
    network, step = load_network(RunDir(out), load_plugins().registry)
    assert step == 6
    inputs = {
        "z": np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32),
        "label": np.arange(4, dtype=np.int32),
    }
    np.testing.assert_allclose(np.asarray(network(inputs)), np.asarray(exported(inputs)), atol=1e-5)
