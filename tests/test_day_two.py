"""Using a run after it trained: it remembers its data, transfers many pairs in one
process, and has one writer at a time. CI's strictness about the real data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

from gankit.cli import cli
from gankit.run.lock import RunLock

TINY = [
    "--batch-size",
    "8",
    "--latent-dim",
    "8",
    "--steps",
    "2",
    "--log-every",
    "1",
    "--sample-every",
    "2",
    "--checkpoint-every",
    "2",
    "-o",
    "generator.width=4",
    "-o",
    "discriminator.width=4",
]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def run(tmp_path, tiny_data) -> Path:
    out = tmp_path / "R"
    result = invoke("train", "--out", str(out), *TINY)
    assert result.exit_code == 0, result.output
    return out


def test_a_run_remembers_where_its_data_came_from(run, tiny_data, monkeypatch, tmp_path):
    info = json.loads((run / "run.json").read_text())
    assert info["data"]["data_dir"] == str(tiny_data.resolve())
    monkeypatch.delenv("GANKIT_DATA_DIR")
    result = invoke("sample", "--run", str(run), "-n", "4", "--npz", str(tmp_path / "s.npz"))
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "s.npz")["content"].shape == (4, 32, 32, 1)
    shutil.move(tiny_data, tmp_path / "moved")
    result = invoke("sample", "--run", str(run), "-n", "4", "--npz", str(tmp_path / "t.npz"))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == (
        f"Note: {run} was trained with data from {tiny_data.resolve()}, which is gone; "
        "looking in the dataset cache (pass --data-dir or set GANKIT_DATA_DIR)"
    )
    assert lines[1].startswith("Error: MNIST not found") and len(lines) == 2
    result = invoke(
        "sample",
        "--run",
        str(run),
        "-n",
        "4",
        "--npz",
        str(tmp_path / "u.npz"),
        "--data-dir",
        str(tmp_path / "moved"),
    )
    assert result.exit_code == 0, result.output


def images(tmp_path: Path) -> tuple[list[Path], list[Path]]:
    digits, styles = tmp_path / "digits", tmp_path / "styles"
    digits.mkdir()
    styles.mkdir()
    for i, x in enumerate((40, 80)):
        image = Image.new("L", (120, 160), 255)
        ImageDraw.Draw(image).line([(x, 20), (x, 140)], fill=0, width=12)
        image.save(digits / f"d{i}.png")
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (50, 70, 3), dtype=np.uint8)).save(
            styles / f"s{i}.jpg"
        )
    return sorted(digits.iterdir()), sorted(styles.iterdir())


def test_transfer_writes_every_pair_in_one_call(run, tmp_path):
    (d0, d1), (s0, s1) = images(tmp_path)
    out = tmp_path / "out"
    result = invoke(
        "transfer",
        "--run",
        str(run),
        "--content",
        str(d0),
        "--content",
        str(d1),
        "--style",
        str(s0),
        "--style",
        str(s1),
        "-o",
        str(out),
        "--grid",
        str(tmp_path / "grid.png"),
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "d0--s0.png",
        "d0--s1.png",
        "d1--s0.png",
        "d1--s1.png",
    ]
    assert Image.open(out / "d0--s1.png").size == (128, 128)
    assert Image.open(tmp_path / "grid.png").size[0] > 3 * 128


def test_transfer_zips_directories_and_keeps_the_single_file_form(run, tmp_path):
    (d0, _), _ = images(tmp_path)
    out = tmp_path / "zipped"
    result = invoke(
        "transfer",
        "--run",
        str(run),
        "--content",
        str(tmp_path / "digits"),
        "--style",
        str(tmp_path / "styles"),
        "--pairs",
        "zip",
        "-o",
        str(out),
        "--scale",
        "1",
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["d0--s0.png", "d1--s1.png"]
    single = tmp_path / "one.png"
    result = invoke(
        "transfer",
        "--run",
        str(run),
        "--content",
        str(d0),
        "--style",
        str(tmp_path / "styles" / "s1.jpg"),
        "-o",
        str(single),
        "--show-inputs",
        "--scale",
        "1",
    )
    assert result.exit_code == 0 and Image.open(single).size == (98, 32)
    result = invoke(
        "transfer",
        "--run",
        str(run),
        "--content",
        str(tmp_path / "digits"),
        "--style",
        str(tmp_path / "styles" / "s0.jpg"),
        "--pairs",
        "zip",
    )
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == "Error: --pairs zip needs as many content images as style images (2 and 1)"
    )


def test_a_second_writer_is_refused_and_a_dead_ones_lock_is_not(run, tmp_path):
    with RunLock(run / ".lock"):
        result = invoke("train", "--out", str(run), "--steps", "4")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: {run} is being trained by another process (pid {os.getpid()}); wait for it to "
        "finish or "
        "choose another --out"
    )
    assert json.loads((run / "run.json").read_text())["status"] == "finished"  # untouched
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from gankit.run.lock import RunLock; "
                "RunLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(60)"
            ),
            str(run / ".lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    result = invoke("train", "--out", str(run), "--steps", "4")
    assert result.exit_code == 0, result.output


def test_ci_fails_a_test_that_needs_missing_real_data(tmp_path):
    test = tmp_path / "test_needs_data.py"
    test.write_text("def test_it(real_data):\n    pass\n")
    shutil.copy(Path(__file__).parent / "conftest.py", tmp_path / "conftest.py")
    env = {
        k: v for k, v in os.environ.items() if k not in ("GANKIT_DATA_DIR", "GANKIT_REQUIRE_DATA")
    }
    strict = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
        env={**env, "GANKIT_REQUIRE_DATA": "1"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert strict.returncode == 1 and "GANKIT_REQUIRE_DATA is set" in strict.stdout
    lenient = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert lenient.returncode == 0 and "1 skipped" in lenient.stdout
