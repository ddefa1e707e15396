"""The example plugin under examples/: it installs, passes its own tests and trains."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gankit.io.toml import loads_toml

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "gankit-sngan"


@pytest.fixture(scope="module")
def sngan_site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("sngan-site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(EXAMPLE),
        ],
        check=True,
        capture_output=True,
    )
    return site


def run(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=600
    )


def test_sngan_is_listed_from_its_entry_point(sngan_site):
    rows = json.loads(run(sngan_site, "-m", "gankit", "list-plugins", "--json").stdout)
    row = next(r for r in rows if r["name"] == "sngan")
    assert row["source"] == "entry-point" and row["status"] == "ok" and row["version"] == "0.2.0"
    assert [c["name"] for c in row["components"]["losses"]] == ["sngan"]
    assert row["components"]["losses"][0]["training"]["d_steps"] == 5


def test_sngan_own_tests_pass(sngan_site):
    result = run(sngan_site, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests"))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("condition, d_steps", [("none", 5), ("label", 1)])
def test_sngan_trains_with_its_recipe_on_the_builtin_hinge_loss(
    sngan_site, tmp_path, tiny_data, condition, d_steps
):
    out = tmp_path / "R"
    flags = (
        [] if d_steps == 5 else ["--d-steps", str(d_steps)]
    )  # the recipe's, or the command line's
    result = run(
        sngan_site,
        "-m",
        "gankit",
        "train",
        "--generator",
        "sngan",
        "--loss",
        "sngan",
        *flags,
        "--dataset",
        "cifar10",
        "--condition",
        condition,
        "--steps",
        "2",
        "--batch-size",
        "8",
        "--out",
        str(out),
        "-o",
        "generator.width=8",
        "-o",
        "discriminator.width=8",
    )
    assert result.returncode == 0, result.stderr
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "finished" and "sngan" in info["plugins"]
    assert (out / "generator.keras").is_file()
    config = loads_toml((out / "config.toml").read_text())
    source = "loss 'sngan'" if d_steps == 5 else "command line"
    assert (config["d_steps"], config["sources"]["d_steps"]) == (d_steps, source)
