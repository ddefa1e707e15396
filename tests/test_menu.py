"""The menu trains: every loss and the R1 penalty under mixed_bfloat16 and under a
2-replica mirrored strategy; EMA, DiffAugment and spectral norm train, resume and
export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gankit.cli import cli
from gankit.io.toml import loads_toml

TINY = [
    "--batch-size",
    "8",
    "--latent-dim",
    "8",
    "--log-every",
    "5",
    "--sample-every",
    "100",
    "--checkpoint-every",
    "100",
    "-o",
    "generator.width=4",
    "-o",
    "discriminator.width=4",
]
MENU = {
    "hinge": ["--loss", "hinge"],
    "wgan-gp": ["--loss", "wgan-gp", "-o", "discriminator.batch_norm=false"],
    "lsgan": ["--loss", "lsgan"],
    "ragan": ["--loss", "ragan"],
    "minimax+r1": ["--penalty", "r1", "-o", "penalty.every=2"],
    "ema+augment+sn": [
        "--ema-decay",
        "0.99",
        "--augment",
        "translation,color,cutout",
        "-o",
        "discriminator.spectral_norm=true",
    ],
}


def train(out: Path, *args: str) -> None:
    result = CliRunner().invoke(cli, ["train", "--out", str(out), *TINY, *args])
    assert result.exit_code == 0, (result.output, result.exception)


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("name", MENU)
def test_each_trains_twenty_unconditional_steps_in_bfloat16(tmp_path, tiny_data, name):
    out = tmp_path / "R"
    train(out, "--condition", "none", "--steps", "20", "--precision", "mixed_bfloat16", *MENU[name])
    rows = metrics(out)
    assert [r["step"] for r in rows] == [5, 10, 15, 20]
    assert all(np.isfinite(r["d_loss"]) and np.isfinite(r["g_loss"]) for r in rows)
    if name == "minimax+r1":
        assert all("d_r1" in r for r in rows) and any(r["d_r1"] > 0 for r in rows)


def test_wgan_gp_with_no_other_flag_trains_with_the_papers_settings(tmp_path, tiny_data):
    out = tmp_path / "R"
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--loss",
            "wgan-gp",
            "--out",
            str(out),
            "--steps",
            "1",
            "--batch-size",
            "8",
            "-o",
            "generator.width=4",
            "-o",
            "discriminator.width=4",
        ],
    )
    assert result.exit_code == 0, result.output
    config = loads_toml((out / "config.toml").read_text())
    assert (
        config["lr_g"],
        config["lr_d"],
        config["beta1"],
        config["beta2"],
        config["d_steps"],
    ) == (1e-4, 1e-4, 0.0, 0.9, 5)


def test_each_trains_under_a_two_replica_mirrored_strategy(tmp_path, tiny_data):
    procs = {
        name: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gankit",
                "train",
                "--strategy",
                "mirrored",
                "--cpu-devices",
                "2",
                "--condition",
                "content,style" if name == "ema+augment+sn" else "none",
                "--steps",
                "3",
                "--out",
                str(tmp_path / name),
                *TINY,
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ},
        )
        for name, args in MENU.items()
    }
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, (name, out[-3000:])
        info = json.loads((tmp_path / name / "run.json").read_text())
        assert info["replicas"] == 2 and info["status"] == "finished", name


def test_ema_augment_and_spectral_norm_train_resume_and_export(tmp_path, tiny_data):
    out = tmp_path / "R"
    stable = MENU["ema+augment+sn"] + ["--checkpoint-every", "3", "--precision", "float32"]
    train(out, "--steps", "3", *stable)
    train(out, "--steps", "6", *stable)
    groups = json.loads(str(np.load(out / "checkpoints" / "step_000006.npz")["__meta__"]))
    assert "generator/ema" in groups and len(groups["generator/ema"]) == len(
        groups["generator/weights"]
    ) - sum("moving" in path for path, _ in groups["generator/weights"])
    code = (
        "import sys, json, keras, numpy as np\n"
        f"g = keras.models.load_model({str(out / 'generator.keras')!r}, safe_mode=True)\n"
        f"d = np.load({str(out / 'checkpoints' / 'step_000006.npz')!r})\n"
        "meta = json.loads(str(d['__meta__']))\n"
        "ema = [d[f'generator/ema/{i:04d}'] for i in range(len(meta['generator/ema']))]\n"
        "raw = [d[f'generator/weights/{i:04d}'] for i in range(len(meta['generator/weights']))]\n"
        "exported = [np.asarray(w) for w in g.trainable_weights]\n"
        "assert all(np.allclose(a, b) for a, b in zip(exported, ema)), 'export is not the "
        "average'\n"
        "assert not all(np.allclose(a, b) for a, b in zip(exported, raw[:len(exported)])), "
        "'average == raw'\n"
        "assert not any(m.startswith('gankit') for m in sys.modules)\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        cwd=tmp_path,
    )
    assert result.stdout.strip().endswith("ok"), result.stderr[-2000:]


def test_diffaugment_is_differentiable_and_keeps_image_and_conditions_aligned():
    import tensorflow as tf

    from gankit.training.augment import augment

    image = tf.random.uniform((6, 32, 32, 3), -1, 1)
    content = tf.ones((6, 32, 32, 1))
    with tf.GradientTape() as tape:
        tape.watch(image)
        out = augment({"image": image, "content": content}, ("translation", "color", "cutout"))
        total = tf.reduce_sum(out["image"])
    assert tape.gradient(total, image) is not None
    assert out["image"].shape == image.shape and out["content"].shape == content.shape
    geometric = augment(
        {"image": tf.ones((6, 32, 32, 3)), "content": content}, ("translation", "cutout")
    )
    assert bool(
        tf.reduce_all((geometric["image"][..., 0] == 0) == (geometric["content"][..., 0] == 0))
    )
    assert 0 < float(tf.reduce_mean(tf.cast(geometric["content"] == 0, tf.float32))) < 0.6


def test_unknown_augmentation_and_penalty_are_usage_errors(tiny_data, tmp_path):
    for args, message in (
        (
            ["--augment", "flip"],
            "Error: `augment`: unknown augmentation 'flip' (choose from translation, color, "
            "cutout, or none)",
        ),
        (["--penalty", "r1x"], "Error: unknown penalty 'r1x' (did you mean 'r1'?); available: r1"),
        (["-o", "penalty.weight=1"], "Error: -o penalty.* options need a --penalty (it is `none`)"),
    ):
        result = CliRunner().invoke(cli, ["train", "--out", str(tmp_path / "R"), *args])
        assert result.exit_code == 2 and result.stderr.strip() == message, result.stderr
