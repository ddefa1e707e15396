"""`gankit new-plugin`: the package it writes installs, passes its own tests and trains."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gankit.cli import cli


def new_plugin(*args: str):
    return CliRunner().invoke(cli, ["new-plugin", *args])


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """gankit-demo with every family, pip-installed (for real) into a private folder."""
    root = tmp_path_factory.mktemp("scaffold")
    families = [
        "--family",
        "generator",
        "--family",
        "discriminator",
        "--family",
        "loss",
        "--family",
        "dataset",
        "--family",
        "metric",
    ]
    result = new_plugin("demo", "--dir", str(root), *families)
    assert result.exit_code == 0, result.output
    site = root / "site"
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
            str(root / "gankit-demo"),
        ],
        check=True,
        capture_output=True,
    )
    return root / "gankit-demo", site


def run(site: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, cwd=cwd, timeout=600
    )


def test_the_package_layout(installed):
    package, _ = installed
    files = sorted(
        str(p.relative_to(package))
        for p in package.rglob("*")
        if p.is_file()
        and not any(
            part.endswith(".egg-info") or part in ("build", "__pycache__") for part in p.parts
        )
    )
    assert files == [
        "README.md",
        "gankit_demo/__init__.py",
        "pyproject.toml",
        "tests/test_contract.py",
    ]
    pyproject = (package / "pyproject.toml").read_text()
    assert (
        'name = "gankit-demo"' in pyproject
        and '[project.entry-points.gankit]\ndemo = "gankit_demo"' in pyproject
    )


def test_installed_plugin_is_listed_from_its_entry_point(installed):
    _, site = installed
    result = run(site, "-m", "gankit", "list-plugins", "--json")
    row = next(r for r in json.loads(result.stdout) if r["name"] == "demo")
    assert row["source"] == "entry-point" and row["status"] == "ok", row
    assert {f: [c["name"] for c in cs] for f, cs in row["components"].items() if cs} == {
        "generators": ["demo"],
        "discriminators": ["demo"],
        "losses": ["demo"],
        "datasets": ["demo"],
        "metrics": ["demo"],
    }


def test_the_generated_tests_pass(installed):
    package, site = installed
    result = run(
        site, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests"), cwd=package
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 passed" in result.stdout  # one per component, the entry point, gankit check


def test_training_with_the_generated_components(installed, tmp_path, tiny_data):
    _, site = installed
    out = tmp_path / "R"
    result = run(
        site,
        "-m",
        "gankit",
        "train",
        "--generator",
        "demo",
        "--loss",
        "demo",
        "--condition",
        "none",
        "--steps",
        "5",
        "--batch-size",
        "8",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    config = (out / "config.toml").read_text()
    assert 'discriminator = "demo"' in config
    result = run(
        site,
        "-m",
        "gankit",
        "train",
        "--generator",
        "demo",
        "--discriminator",
        "demo",
        "--loss",
        "demo",
        "--dataset",
        "demo",
        "--steps",
        "5",
        "--batch-size",
        "8",
        "--out",
        str(tmp_path / "R2"),
        "--eval-every",
        "5",
        "--eval-metric",
        "demo",
        "--eval-n",
        "16",
    )
    assert result.returncode == 0, result.stderr
    assert "demo" in json.loads((tmp_path / "R2" / "metrics.jsonl").read_text().splitlines()[-1])


def test_only_generator_and_loss_train_with_the_default_discriminator(tmp_path, tiny_data):
    result = new_plugin("gl", "--dir", str(tmp_path), "--family", "generator", "--family", "loss")
    assert result.exit_code == 0
    site = tmp_path / "site"
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
            str(tmp_path / "gankit-gl"),
        ],
        check=True,
        capture_output=True,
    )
    out = tmp_path / "R"
    result = run(
        site,
        "-m",
        "gankit",
        "train",
        "--generator",
        "gl",
        "--loss",
        "gl",
        "--condition",
        "none",
        "--steps",
        "5",
        "--batch-size",
        "8",
        "--out",
        str(out),
        "-o",
        "discriminator.width=8",
    )
    assert result.returncode == 0, result.stderr
    assert 'discriminator = "dcgan"' in (out / "config.toml").read_text()


@pytest.mark.parametrize(
    "args,message",
    [
        (["Bad Name"], "must be lowercase"),
        (["ok", "--family", "critic"], "Invalid value for '--family'"),
    ],
)
def test_bad_input_is_a_usage_error(tmp_path, args, message):
    result = new_plugin(*args, "--dir", str(tmp_path))
    assert result.exit_code == 2 and message in result.output


def test_refuses_to_overwrite(tmp_path):
    (tmp_path / "gankit-demo").mkdir()
    (tmp_path / "gankit-demo" / "mine.txt").write_text("keep")
    result = new_plugin("demo", "--dir", str(tmp_path))
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert (tmp_path / "gankit-demo" / "mine.txt").read_text() == "keep"
