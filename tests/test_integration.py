"""Acceptance checks on the real MNIST and CIFAR-10 (GANKIT_DATA_DIR; skipped without)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

from gankit.cli import cli

pytestmark = pytest.mark.integration


def gankit(*args: str) -> None:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, (result.output, result.exception)


def test_dataset_preview_on_real_data(real_data, tmp_path):
    a, b, c = tmp_path / "a.npz", tmp_path / "b.npz", tmp_path / "c.npz"
    gankit(
        "dataset-preview",
        "mnist-cifar",
        "-n",
        "256",
        "--npz",
        str(a),
        "--out",
        str(tmp_path / "g.png"),
    )
    gankit("dataset-preview", "mnist-cifar", "-n", "256", "--npz", str(b))
    gankit("dataset-preview", "mnist-cifar", "-n", "256", "--npz", str(c), "--seed", "1")
    x, y, z = np.load(a), np.load(b), np.load(c)
    assert x["image"].shape == (256, 32, 32, 3) and x["content"].shape == (256, 32, 32, 1)
    assert x["style"].shape == (256, 32, 32, 3) and x["label"].shape == (256,)
    assert np.issubdtype(x["label"].dtype, np.integer)
    for key in ("image", "content", "style"):
        assert x[key].min() >= -1 and x[key].max() <= 1
        np.testing.assert_array_equal(x[key], y[key])
    unit = lambda v: (v + 1) / 2  # noqa: E731
    np.testing.assert_allclose(
        unit(x["image"]), np.abs(unit(x["style"]) - unit(x["content"])), atol=1e-5
    )
    assert x["label"][:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # MNIST's first train labels
    assert not np.array_equal(x["style"], z["style"])


def test_missing_data_offline_fails_fast_with_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("GANKIT_OFFLINE", "KERAS_HOME")}
    env.update(HOME=str(tmp_path), GANKIT_DATA_DIR=str(empty))
    start = time.time()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gankit",
            "dataset-preview",
            "mnist-cifar",
            "-n",
            "256",
            "--npz",
            str(tmp_path / "b.npz"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert time.time() - start < 30
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "mnist.npz" in lines[0] and "GANKIT_DATA_DIR" in lines[0]


@pytest.mark.slow
def test_main_job_trains_resumes_samples_and_transfers(real_data, tmp_path):
    out = tmp_path / "R"
    gankit(
        "train",
        "--generator",
        "dcgan",
        "--loss",
        "minimax",
        "--steps",
        "40",
        "--batch-size",
        "16",
        "--log-every",
        "10",
        "--out",
        str(out),
    )
    for name in ("config.toml", "run.json", "metrics.jsonl", "generator.keras"):
        assert (out / name).is_file(), name
    assert list((out / "samples").glob("step_*.png")) and list(
        (out / "checkpoints").glob("step_*.npz")
    )
    gankit("train", "--out", str(out), "--steps", "60", "--log-every", "10")
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [10, 20, 30, 40, 50, 60]

    npz = tmp_path / "s.npz"
    gankit("sample", "--run", str(out), "-n", "32", "--npz", str(npz))
    s = np.load(npz)
    assert (
        s["images"].shape == (32, 32, 32, 3) and s["images"].min() >= -1 and s["images"].max() <= 1
    )
    assert {"content", "style", "label"} <= set(s.files)

    from PIL import Image

    Image.fromarray((np.random.default_rng(0).random((50, 70)) > 0.9).astype(np.uint8) * 255).save(
        tmp_path / "a.png"
    )
    Image.fromarray(np.full((300, 200, 3), 90, np.uint8)).save(tmp_path / "b.jpg")
    gankit(
        "transfer",
        "--run",
        str(out),
        "--content",
        str(tmp_path / "a.png"),
        "--style",
        str(tmp_path / "b.jpg"),
        "-o",
        str(tmp_path / "out.png"),
        "--scale",
        "1",
    )
    image = Image.open(tmp_path / "out.png")
    assert image.size == (32, 32) and image.mode == "RGB"
