"""Class-conditional GANs: `--condition label`, conditional BN / projection / ACGAN, the
built-in ResNet, sampling by class, class accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gankit.cli import cli

TINY = [
    "--batch-size",
    "8",
    "--latent-dim",
    "8",
    "--log-every",
    "1",
    "--sample-every",
    "2",
    "--checkpoint-every",
    "2",
    "--no-progress",
]
SMALL_DCGAN = ["-o", "generator.width=4", "-o", "discriminator.width=4"]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def digits_run(tmp_path, tiny_data) -> Path:
    out = tmp_path / "digits"
    result = invoke(
        "train",
        "--dataset",
        "mnist",
        "--condition",
        "label",
        "--steps",
        "2",
        "--out",
        str(out),
        *TINY,
        *SMALL_DCGAN,
    )
    assert result.exit_code == 0, result.output
    return out


def test_a_label_conditional_run_trains_resumes_and_exports(digits_run):
    import keras

    info = json.loads((digits_run / "run.json").read_text())
    assert info["class_names"] == [str(d) for d in range(10)]
    result = invoke("train", "--out", str(digits_run), "--steps", "4", *TINY, *SMALL_DCGAN)
    assert result.exit_code == 0, result.output
    assert "resuming" in result.output
    generator = keras.models.load_model(
        digits_run / "generator.keras", safe_mode=True, compile=False
    )
    names = sorted(t.name.split(":")[0] for t in generator.inputs)
    assert names == ["label", "z"]
    z = np.random.default_rng(0).standard_normal((10, 8)).astype(np.float32)
    a = np.asarray(generator({"z": z, "label": np.zeros(10, np.int32)}))
    b = np.asarray(generator({"z": z, "label": np.full(10, 7, np.int32)}))
    assert a.shape == (10, 32, 32, 1) and not np.allclose(a, b)


def test_the_export_says_which_label_is_which_class(digits_run):
    import zipfile

    import gankit

    with zipfile.ZipFile(digits_run / "generator.keras") as archive:  # no gankit needed to read it
        info = json.loads(archive.read("gankit.json"))
    assert info == gankit.read_export_info(digits_run / "generator.keras")
    assert info["class_names"] == [str(d) for d in range(10)] and info["role"] == "generator"
    assert info["scheme"] == "gan" and info["conditions"] == ["label"]
    assert info["inputs"]["label"].startswith("class label: int32 (B), 0..9")
    assert info["inputs"]["z"] == "noise: float32 (B, 8), standard normal"


def test_training_grids_have_one_row_per_class(digits_run):
    from PIL import Image

    grid = np.asarray(Image.open(digits_run / "samples" / "step_000002.png"))
    # 10 rows of 32-pixel cells, upscaled x2; a margin with the names
    assert grid.shape[0] == (10 * 32 + 11 * 2) * 2  # gaps between and around the rows
    assert grid[:, :4].min() == 255 and grid.shape[1] > (8 * 32 + 7 * 2) * 2


def test_sample_by_class_index_name_and_all(digits_run, tmp_path):
    npz = tmp_path / "threes.npz"
    result = invoke(
        "sample", "--run", str(digits_run), "--class", "3", "-n", "12", "--npz", str(npz)
    )
    assert result.exit_code == 0, result.output
    arrays = np.load(npz)
    assert arrays["images"].shape == (12, 32, 32, 1) and set(arrays["label"].tolist()) == {3}
    result = invoke(
        "sample",
        "--run",
        str(digits_run),
        "--class",
        "all",
        "-n",
        "20",
        "--npz",
        str(npz),
        "--out",
        str(tmp_path / "all.png"),
    )
    assert result.exit_code == 0, result.output
    assert np.load(npz)["label"].tolist() == [c for c in range(10) for _ in range(2)]
    result = invoke("sample", "--run", str(digits_run), "--class", "eleven")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: unknown class 'eleven': give an index below 10 or a name "
        "(0=0, 1=1, 2=2, 3=3, 4=4, 5=5, 6=6, 7=7, 8=8, 9=9), or all"
    ]


def test_class_needs_a_label_conditional_run(tmp_path, tiny_data):
    out = tmp_path / "plain"
    assert (
        invoke(
            "train", "--dataset", "mnist", "--steps", "2", "--out", str(out), *TINY, *SMALL_DCGAN
        ).exit_code
        == 0
    )
    result = invoke("sample", "--run", str(out), "--class", "3")
    assert (
        result.exit_code == 2
        and "--class needs a run trained with --condition label" in result.output
    )


def test_resnet_trains_label_conditional_with_the_papers_settings(tmp_path, tiny_data):
    out = tmp_path / "resnet"
    result = invoke(
        "train",
        "--dataset",
        "cifar10",
        "--generator",
        "resnet",
        "--discriminator",
        "resnet",
        "--condition",
        "label",
        "--steps",
        "2",
        "--out",
        str(out),
        *TINY,
        "-o",
        "generator.width=8",
        "-o",
        "discriminator.width=8",
    )
    assert result.exit_code == 0, result.output
    config = (out / "config.toml").read_text()
    assert 'loss = "hinge"' in config and "d_steps = 5" in config and "lr_g = 0.0002" in config
    assert "beta1 = 0.0" in config
    assert "loss = \"discriminator 'resnet'\"" in config  # where the loss came from
    result = invoke(
        "train",
        "--out",
        str(out),
        "--steps",
        "3",
        *TINY,
        "-o",
        "generator.width=8",
        "-o",
        "discriminator.width=8",
    )
    assert result.exit_code == 0 and "resuming" in result.output, result.output
    assert (out / "generator.keras").is_file()
    result = invoke(
        "sample", "--run", str(out), "--class", "horse", "-n", "4", "--npz", str(tmp_path / "h.npz")
    )
    assert result.exit_code == 0, result.output
    assert set(np.load(tmp_path / "h.npz")["label"].tolist()) == {7}


def test_acgan_logs_its_classification_terms(tmp_path, tiny_data):
    out = tmp_path / "acgan"
    result = invoke(
        "train",
        "--dataset",
        "mnist",
        "--condition",
        "label",
        "--steps",
        "2",
        "--out",
        str(out),
        *TINY,
        *SMALL_DCGAN,
        "-o",
        "discriminator.labels=acgan",
        "--loss",
        "hinge",
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["d_class"]) and np.isfinite(r["g_class"]) for r in rows)
    assert rows[0]["d_class"] == pytest.approx(np.log(10), rel=0.3)  # an untrained head


NO_LABELS = """
import gankit


def build(spec, *, width: int = 4):
    \"\"\"A generator that knows nothing of labels.\"\"\"
    import keras
    from keras import layers

    z = keras.Input((spec.latent_dim,), name="z")
    x = layers.Reshape((8, 8, width))(layers.Dense(64 * width)(z))
    x = layers.Conv2DTranspose(spec.image_shape[-1], 4, strides=4, padding="same")(x)
    return keras.Model({"z": z}, layers.Activation("tanh", dtype="float32")(x))


@gankit.hookimpl
def register_generators(register):
    register("no-labels", build)
"""


def test_label_condition_beside_an_image_condition(tmp_path, tiny_data):
    result = invoke(
        "train",
        "--dataset",
        "mnist-cifar",
        "--condition",
        "style,label",
        "--steps",
        "2",
        "--out",
        str(tmp_path / "ok"),
        *TINY,
        *SMALL_DCGAN,
    )
    assert result.exit_code == 0, result.output  # the digit's class beside the style image


def test_only_a_run_given_every_condition_image_of_a_paired_dataset_is_paired():
    from types import SimpleNamespace

    from gankit.plugin.building import is_paired_run

    paired = SimpleNamespace(paired=True, conditions={"content": (32, 32, 1), "style": (32, 32, 3)})
    assert is_paired_run(paired, ["content", "style"]) and is_paired_run(
        paired, ["style", "content", "label"]
    )
    assert not is_paired_run(paired, ["label"]) and not is_paired_run(paired, ["content"])
    assert not is_paired_run(paired, [])
    assert not is_paired_run(
        SimpleNamespace(conditions={"content": (32, 32, 1)}), ["content"]
    )  # not declared


@pytest.mark.parametrize("condition,paired", [("label", False), ("content,style", True)])
def test_the_l1_term_joins_only_paired_runs(tmp_path, tiny_data, condition, paired):
    # a label-conditional run on mnist-cifar has many right images per label: pulling
    # towards the batch's real one (100 x L1) would blur them to the class mean
    out = tmp_path / "run"
    result = invoke(
        "train",
        "--dataset",
        "mnist-cifar",
        "--condition",
        condition,
        "--steps",
        "1",
        "--out",
        str(out),
        *TINY,
        *SMALL_DCGAN,
    )
    assert result.exit_code == 0, result.output
    g_loss = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])["g_loss"]
    assert (g_loss > 10) is paired, g_loss  # 100 x L1 on [-1, 1] images, against minimax's ~0.7


def test_label_condition_needs_classes_and_a_model_that_takes_labels(tmp_path, tiny_data):
    result = invoke(
        "train",
        "--dataset",
        "cifar10",
        "--condition",
        "content",
        "--steps",
        "2",
        "--out",
        str(tmp_path / "x"),
        *TINY,
    )
    assert result.exit_code == 2 and "(available: label, or 'none')" in result.output
    plugin = tmp_path / "no_labels.py"
    plugin.write_text(NO_LABELS)
    out = tmp_path / "R"
    result = invoke(
        "--plugin",
        str(plugin),
        "train",
        "--dataset",
        "mnist",
        "--condition",
        "label",
        "--generator",
        "no-labels",
        "--steps",
        "2",
        "--out",
        str(out),
        *TINY,
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "Error: generator 'no-labels' from plugin 'no_labels': takes no `label` input, so it "
        "cannot train "
        "with --condition label (its inputs: z)"
    )
    assert not out.exists()


def test_class_accuracy_and_per_class_fid(digits_run):
    result = invoke(
        "evaluate",
        "--run",
        str(digits_run),
        "--metric",
        "class-accuracy",
        "--metric",
        "fid",
        "-o",
        "metric.extractor=classifier",
        "-o",
        "metric.per_class=true",
        "-n",
        "40",
        "--json",
    )
    assert result.exit_code == 0, result.output
    rows = {r["metric"]: r for r in map(json.loads, result.stdout.splitlines())}
    accuracy = rows["class-accuracy"]
    assert (
        0 <= accuracy["value"] <= 1
        and accuracy["reference"] > 0.5
        and accuracy["worst"] <= accuracy["value"]
    )
    assert accuracy["protocol"]["classifier"]["task"] == "labels"
    assert rows["fid"]["protocol"]["per_class"] is True and np.isfinite(rows["fid"]["value"])


def test_class_accuracy_needs_a_label_conditional_run(tmp_path, tiny_data):
    out = tmp_path / "plain"
    assert (
        invoke(
            "train", "--dataset", "mnist", "--steps", "2", "--out", str(out), *TINY, *SMALL_DCGAN
        ).exit_code
        == 0
    )
    result = invoke("evaluate", "--run", str(out), "--metric", "class-accuracy", "-n", "20")
    assert result.exit_code == 2 and "needs a run conditioned on label" in result.output
