"""Rotation self-supervision (``--rotation``, SS-GAN): the quarter turns, the
discriminators' heads, the trainer's terms, and a discriminator without a head."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import gankit
from gankit.cli import cli
from gankit.io.toml import loads_toml

TINY = [
    "--batch-size",
    "8",
    "--latent-dim",
    "8",
    "--log-every",
    "1",
    "--sample-every",
    "100",
    "--checkpoint-every",
    "100",
    "--precision",
    "float32",
    "-o",
    "generator.width=4",
]

# A discriminator that knows nothing of spec.rotation (as every plugin written before it).
HEADLESS = '''import gankit

def build(spec, *, width: int = 4):
    """A discriminator with no rotation head."""
    import keras
    from keras import layers
    inputs = {"image": keras.Input(tuple(spec.image_shape), name="image")}
    for name, shape in spec.conditions.items():
        inputs[name] = keras.Input(tuple(shape), name=name)
    x = layers.Concatenate()(list(inputs.values())) if len(inputs) > 1 else inputs["image"]
    x = layers.Flatten()(layers.Conv2D(width, 4, strides=4)(x))
    return keras.Model(inputs, layers.Dense(1, dtype="float32")(x))

@gankit.hookimpl
def register_discriminators(register):
    register("headless", build)
'''


def train(out: Path, *args: str, code: int = 0):
    result = CliRunner().invoke(
        cli,
        [*args[:2], "train", "--out", str(out), *TINY, *args[2:]]
        if args[:1] == ("--plugin",)
        else ["train", "--out", str(out), *TINY, *args],
    )
    assert result.exit_code == code, (result.output, result.exception)
    return result


def test_rotate_quarters_turns_each_quarter_and_its_condition_images_alike():
    import tensorflow as tf

    from gankit.nn.rotation import rotate_quarters

    rng = np.random.default_rng(0)
    image = rng.standard_normal((9, 6, 6, 3)).astype(np.float32)  # 9 rows: the last one is left out
    content = image[..., :1] * 2
    label = np.arange(9, dtype=np.int32)
    turned, conds, turns = rotate_quarters(
        tf.constant(image), {"content": tf.constant(content), "label": tf.constant(label)}
    )
    assert turns.numpy().tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    for row in range(8):
        k = row // 2
        np.testing.assert_array_equal(turned[row].numpy(), np.rot90(image[row], k, axes=(0, 1)))
        np.testing.assert_array_equal(
            conds["content"][row].numpy(), np.rot90(content[row], k, axes=(0, 1))
        )
    assert conds["label"].numpy().tolist() == list(range(8))  # a label keeps its row


@pytest.mark.parametrize("name", ["dcgan", "resnet"])
def test_builtin_discriminators_grow_the_head_for_spec_rotation_and_pass_the_kit(name):
    from gankit.testing import check_discriminator
    from gankit_plugins.dcgan import build_dcgan_discriminator
    from gankit_plugins.resnet import build_resnet_discriminator

    factory = {"dcgan": build_dcgan_discriminator, "resnet": build_resnet_discriminator}[name]
    spec = gankit.ModelSpec(
        (32, 32, 3),
        8,
        conditions={"content": (32, 32, 1)} if name == "dcgan" else {},
        rotation=True,
    )
    model = factory(spec, width=8)
    inputs = {"image": np.zeros((5, 32, 32, 3), np.float32)}
    if name == "dcgan":
        inputs["content"] = np.zeros((5, 32, 32, 1), np.float32)
    out = model(inputs, training=False)
    assert sorted(out) == ["logits", "rotation_logits"]
    assert out["rotation_logits"].shape == (5, 4) and out["rotation_logits"].dtype == "float32"
    check_discriminator(
        factory, options={"width": 8}, precisions=("float32",)
    )  # its rotation build included


def test_the_kit_fails_a_rotation_head_of_the_wrong_shape(tmp_path):
    from gankit.testing import check_discriminator

    def build(spec, *, width: int = 4):
        """A discriminator whose rotation head guesses two turns, not four."""
        import keras
        from keras import layers

        image = keras.Input(tuple(spec.image_shape), name="image")
        x = layers.Flatten()(layers.Conv2D(width, 4, strides=4)(image))
        logits = layers.Dense(1, dtype="float32")(x)
        if not spec.rotation:
            return keras.Model({"image": image}, logits)
        return keras.Model(
            {"image": image},
            {"logits": logits, "rotation_logits": layers.Dense(2, dtype="float32")(x)},
        )

    with pytest.raises(
        AssertionError, match=r"`rotation_logits` must be float32 of shape \(B, 4\)"
    ):
        check_discriminator(build, precisions=("float32",), label_spec=None)


def test_a_rotation_run_logs_both_terms_and_resumes(tmp_path, tiny_data):
    out = tmp_path / "R"
    train(
        out,
        "--condition",
        "none",
        "--no-parts",
        "--rotation",
        "0.5",
        "--steps",
        "2",
        "-o",
        "discriminator.width=4",
    )
    config = loads_toml((out / "config.toml").read_text())
    assert config["rotation"] == 0.5 and config["sources"]["rotation"] == "command line"
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in rows if "d_rotation" in r]
    assert logged and all(
        np.isfinite(r["d_rotation"]) and np.isfinite(r["g_rotation"]) for r in logged
    )
    # about ln 4 before D has learnt anything
    assert 0.5 < logged[0]["d_rotation"] < 3.0
    train(
        out,
        "--condition",
        "none",
        "--no-parts",
        "--rotation",
        "0.5",
        "--steps",
        "3",
        "-o",
        "discriminator.width=4",
    )
    assert json.loads((out / "run.json").read_text())["step"] == 3
    # the simultaneous rule takes the terms too
    simultaneous = tmp_path / "S"
    train(
        simultaneous,
        "--condition",
        "none",
        "--no-parts",
        "--rotation",
        "1",
        "--update",
        "simultaneous",
        "--steps",
        "2",
        "-o",
        "discriminator.width=4",
    )
    rows = [json.loads(line) for line in (simultaneous / "metrics.jsonl").read_text().splitlines()]
    assert any("g_rotation" in r for r in rows)


def test_a_discriminator_without_the_head_is_refused_for_rotation(tmp_path, tiny_data):
    path = tmp_path / "headless.py"
    path.write_text(HEADLESS)
    for parts in ("--no-parts", "--parts"):
        out = tmp_path / parts
        result = train(
            out,
            "--plugin",
            str(path),
            "--condition",
            "none",
            "--discriminator",
            "headless",
            parts,
            "--rotation",
            "1",
            "--steps",
            "2",
            code=1,
        )
        assert "discriminator 'headless'" in result.output and "--rotation 0" in result.output
        assert "Traceback" not in result.output and not out.exists()
    # without --rotation it trains as before
    train(
        tmp_path / "plain",
        "--plugin",
        str(path),
        "--condition",
        "none",
        "--discriminator",
        "headless",
        "--steps",
        "2",
    )
