"""The CLI as a user meets it: output, exit codes and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gankit.cli import cli

PLUGINS = Path(__file__).parent / "fixtures" / "plugins"


def invoke(*args: str, ok: bool = True):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=not ok)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_list_plugins_json_has_exactly_the_documented_keys():
    rows = json.loads(invoke("list-plugins", "--json").stdout)
    assert {r["name"] for r in rows} == {
        "gan",
        "cyclegan",
        "pix2pix",
        "cut",
        "dcgan",
        "resnet",
        "translators",
        "minimax",
        "losses",
        "penalties",
        "mnist-cifar",
        "mnist-cifar-unpaired",
        "image-folder",
        "metrics",
        "loggers",
    }
    for row in rows:
        assert set(row) == {
            "name",
            "version",
            "source",
            "via",
            "target",
            "status",
            "error",
            "components",
        }
        assert set(row["components"]) == {
            "schemes",
            "generators",
            "discriminators",
            "losses",
            "penalties",
            "datasets",
            "metrics",
            "loggers",
        }
    dcgan = next(r for r in rows if r["name"] == "dcgan")
    assert dcgan["components"]["generators"] == [
        {
            "name": "dcgan",
            "summary": "DCGAN generator (Radford et al. 2015)",
            "options": {
                "width": "auto",
                "skips": True,
                "conditioning": "joint",
                "labels": "cbn",
                "to_image": "auto",
                "layered": False,
            },
            "option_types": {
                "width": "int | 'auto'",
                "skips": "bool",
                "conditioning": "'joint' | 'separate'",
                "labels": "'cbn' | 'concat'",
                "to_image": "'auto' | 'transposed' | 'conv'",
                "layered": "bool",
            },
            "training": {},
        }
    ]
    assert dcgan["components"]["discriminators"][0]["options"] == {
        "width": "auto",
        "spectral_norm": False,
        "batch_norm": True,
        "labels": "projection",
    }
    data = next(r for r in rows if r["name"] == "mnist-cifar")["components"]["datasets"]
    assert [d["name"] for d in data] == ["cifar10", "mnist", "mnist-cifar"]
    assert data[2]["options"] == {"seed": 0, "repair_each_epoch": False, "styles": None}


def test_list_plugins_family_filter():
    rows = json.loads(invoke("list-plugins", "--json", "--family", "losses").stdout)
    assert [r["name"] for r in rows] == ["minimax", "losses"]
    assert set(rows[0]["components"]) == {"losses"}
    wgan = next(c for c in rows[1]["components"]["losses"] if c["name"] == "wgan-gp")
    assert wgan["training"] == {
        "lr_g": 1e-4,
        "lr_d": 1e-4,
        "beta1": 0.0,
        "beta2": 0.9,
        "d_steps": 5,
    }
    assert wgan["options"] == {"gp_weight": 10.0}


def test_list_plugins_table_shows_errors_and_exits_zero(monkeypatch):
    monkeypatch.setenv("GANKIT_PLUGINS", str(PLUGINS / "broken_import.py"))
    result = invoke("list-plugins")
    assert "broken_import" in result.stdout and "boom" in result.stdout
    assert "dcgan" in result.stdout


def test_broken_plugin_does_not_block_other_commands(monkeypatch, tiny_data):
    monkeypatch.setenv("GANKIT_PLUGINS", str(PLUGINS / "broken_import.py"))
    rows = json.loads(invoke("list-plugins", "--json").stdout)
    broken = next(r for r in rows if r["name"] == "broken_import")
    assert broken["status"] == "error" and "boom" in broken["error"]
    assert (
        invoke("dataset-preview", "mnist", "-n", "4", "--npz", str(tiny_data / "x.npz")).exit_code
        == 0
    )


def test_plugin_option_adds_a_local_plugin():
    rows = json.loads(
        invoke("--plugin", str(PLUGINS / "extra_loss.py"), "list-plugins", "--json").stdout
    )
    extra = next(r for r in rows if r["name"] == "extra_loss")
    assert (extra["source"], extra["version"]) == ("local", "1.2.3")
    assert [c["name"] for c in extra["components"]["losses"]] == ["hinge-test", "nan-after"]


@pytest.mark.parametrize(
    "args, code, message",
    [
        (
            ["train", "--generator", "nosuch"],
            2,
            "Error: unknown generator 'nosuch'; available: dcgan, resnet, resnet-translator, "
            "unet\n",
        ),
        (
            ["train", "--loss", "minmax"],
            2,
            "Error: unknown loss 'minmax' (did you mean 'minimax'?); available: hinge, lsgan, "
            "minimax, ragan, wgan-gp\n",
        ),
        (
            ["train", "-o", "generator.widht=3"],
            2,
            "Error: generator 'dcgan': unknown option `widht` for generator 'dcgan' (valid "
            "options: conditioning, labels, layered, skips, to_image, width)\n",
        ),
        (
            ["train", "-o", "generator.width=big"],
            2,
            "Error: generator 'dcgan': option `width` expects int | 'auto', got 'big' (invalid "
            "literal for int() with base 10: 'big'; choose one of 'auto')\n",
        ),
        (
            ["train", "-o", "width=3"],
            2,
            "Error: bad override `width=3`: expected family.option=value, e.g. "
            "generator.width=128\n",
        ),
        (
            ["train", "--condition", "colour"],
            2,
            "Error: dataset 'mnist-cifar' has no condition 'colour' (available: content, style, "
            "label, or 'none')\n",
        ),
        (
            ["dataset-preview", "nope"],
            2,
            "Error: unknown dataset 'nope'; available: cifar10, image-folder, mnist, mnist-cifar, "
            "mnist-cifar-unpaired\n",
        ),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(args, code, message, tiny_data):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code
    assert result.stderr == message


def test_config_file_unknown_key_is_an_error(tmp_path, tiny_data):
    cfg = tmp_path / "c.toml"
    cfg.write_text("batch_size = 8\nbatchsize = 3\n")
    result = CliRunner().invoke(cli, ["train", "--config", str(cfg)])
    assert result.exit_code == 2
    assert "unknown key `batchsize`" in result.stderr and result.stderr.count("\n") == 1


def test_debug_shows_the_traceback(tiny_data):
    import subprocess
    import sys

    args = [sys.executable, "-m", "gankit", "train", "--generator", "nosuch"]
    plain = subprocess.run(args, capture_output=True, text=True)
    debug = subprocess.run(args[:3] + ["--debug"] + args[3:], capture_output=True, text=True)
    assert plain.returncode != 0 and debug.returncode != 0
    assert plain.stderr.strip().splitlines() == [
        "Error: unknown generator 'nosuch'; available: dcgan, resnet, resnet-translator, unet"
    ]
    assert "Traceback (most recent call last)" not in plain.stderr
    assert (
        "Traceback (most recent call last)" in debug.stderr
        and "UnknownComponentError" in debug.stderr
    )


def test_dataset_preview_writes_grid_and_arrays(tmp_path, tiny_data):
    out, npz = tmp_path / "g.png", tmp_path / "b.npz"
    invoke("dataset-preview", "mnist-cifar", "-n", "12", "--out", str(out), "--npz", str(npz))
    from PIL import Image

    assert Image.open(out).mode == "RGB"
    arrays = np.load(npz)
    assert set(arrays.files) == {"image", "content", "style", "label", "style_label"}
    assert arrays["image"].dtype == np.float32 and arrays["image"].shape == (12, 32, 32, 3)
    again = tmp_path / "again.npz"
    invoke("dataset-preview", "mnist-cifar", "-n", "12", "--npz", str(again))
    np.testing.assert_array_equal(arrays["style"], np.load(again)["style"])
    other = tmp_path / "other.npz"
    invoke("dataset-preview", "mnist-cifar", "-n", "12", "--npz", str(other), "--seed", "5")
    assert not np.array_equal(arrays["style"], np.load(other)["style"])
    np.testing.assert_array_equal(arrays["content"], np.load(other)["content"])


def test_dataset_preview_missing_data_is_one_line_exit_1(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(
        cli, ["dataset-preview", "mnist-cifar", "--npz", str(tmp_path / "x.npz")]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: MNIST not found: put mnist.npz in a folder and set GANKIT_DATA_DIR"
    )
    assert result.stderr.count("\n") == 1


def test_config_file_feeds_the_run_and_flags_win(tmp_path, tiny_data):
    cfg = tmp_path / "run.toml"
    cfg.write_text(
        'steps = 2\nbatch-size = 4\nlatent_dim = 8\ncondition = "none"\ndataset = "mnist"\n'
        "[options.generator]\nwidth = 4\n[options.discriminator]\nwidth = 4\n"
    )
    out = tmp_path / "R"
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--config",
            str(cfg),
            "--out",
            str(out),
            "--batch-size",
            "6",
            "-o",
            "discriminator.spectral_norm=true",
        ],
    )
    assert result.exit_code == 0, result.output
    saved = (out / "config.toml").read_text()
    assert "steps = 2\n" in saved and "batch_size = 6\n" in saved and "condition = []\n" in saved
    assert "spectral_norm = true" in saved and "width = 4" in saved


def test_info_reports_versions_devices_and_data(tiny_data):
    report = json.loads(invoke("info", "--json").stdout)
    assert report["gankit"] == "0.1.0" and report["tensorflow"] and report["keras"].startswith("3.")
    assert any("CPU" in d for d in report["devices"])
    assert report["data_dir"]["files"] == ["cifar10.npz", "mnist.npz"]
    assert report["downloads"].startswith("disabled")


def test_default_steps_and_batch_depend_on_conditioning_and_parts(tiny_data):
    from gankit.plugin.loader import load_plugins
    from gankit.run.config import DEFAULT_STEPS, merge_config
    from gankit.run.resolve import resolve_components

    registry = load_plugins().registry
    runs = {}
    for name, flags in {
        "conditional": {},
        "parts": {"condition": "none"},
        "plain": {"condition": "none", "parts": False},
    }.items():
        runs[name] = merge_config(flags)
        resolve_components(runs[name], registry)
    assert {k: (c.steps, c.batch_size, c.ema_decay) for k, c in runs.items()} == {
        "conditional": (DEFAULT_STEPS[True], 64, 0.0),
        "parts": (12000, 32, 0.999),  # the same images as 6000 of 64
        "plain": (DEFAULT_STEPS[False], 64, 0.0),
    }
    assert (
        runs["parts"].sources["batch_size"]
        == runs["parts"].sources["steps"]
        == "gankit default for --parts"
    )
    assert runs["conditional"].sources["batch_size"] == "gankit default"
    explicit = merge_config({"steps": 7, "batch_size": 16, "condition": "none"})
    resolve_components(explicit, registry)
    assert (explicit.steps, explicit.batch_size) == (7, 16)
