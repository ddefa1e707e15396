"""--parts: an unconditional generator draws the dataset's parts, the dataset composes
the image of them, the discriminator sees the image with the parts."""

from __future__ import annotations

import json
import zipfile
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


def mnist_cifar(tiny_data: Path):
    import gankit
    from gankit_plugins.mnist_cifar import build_mnist_cifar

    return build_mnist_cifar(gankit.DataContext(tiny_data, allow_download=False))


def test_composed_generator_draws_parts_and_composes_them_as_the_dataset_does(tiny_data, tmp_path):
    import keras

    import gankit
    from gankit.nn.parts import compose_generator, parts_shape, shown_parts
    from gankit_plugins.dcgan import build_dcgan_generator

    dataset = mnist_cifar(tiny_data)
    assert parts_shape(dataset) == (32, 32, 4)  # a digit (1) and a style image (3)
    drawer = build_dcgan_generator(gankit.ModelSpec(parts_shape(dataset), 8), width=4)
    image_model, drawing = compose_generator(drawer, dataset, 8)
    z = np.random.default_rng(0).standard_normal((6, 8)).astype(np.float32)
    drawn = {k: np.asarray(v) for k, v in drawing({"z": z}, training=False).items()}
    assert sorted(drawn) == ["content", "image"] and shown_parts(drawing) == [
        "content"
    ]  # D sees the digit
    assert drawn["content"].shape == (6, 32, 32, 1) and drawn["image"].shape == (6, 32, 32, 3)
    raw = np.asarray(
        drawer({"z": z}, training=False)
    )  # the parts in declaration order: content, style
    np.testing.assert_allclose(drawn["content"], 2 * np.maximum(raw[..., :1], 0) - 1, atol=1e-6)
    # the image is |style - digit| exactly as the dataset makes its real images
    np.testing.assert_allclose(
        drawn["image"], np.abs(raw[..., 1:] - drawn["content"]) - 1, atol=1e-5
    )
    assert (drawn["content"] == -1).mean() > 0.2  # ink only where drawn: the background stays at -1
    np.testing.assert_allclose(
        np.asarray(image_model({"z": z}, training=False)), drawn["image"], atol=1e-6
    )
    # one set of weights: training the drawing trains the exported image model
    assert [id(v) for v in image_model.trainable_variables] == [
        id(v) for v in drawing.trainable_variables
    ]
    assert [id(v) for v in image_model.trainable_variables] == [
        id(v) for v in drawer.trainable_variables
    ]

    path = tmp_path / "g.keras"
    image_model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True, compile=False)  # Keras layers only
    np.testing.assert_allclose(np.asarray(loaded({"z": z})), drawn["image"], atol=1e-5)


def test_compose_parts_that_break_the_contract_is_a_clear_error(tiny_data):
    import gankit
    from gankit.nn.parts import compose_generator
    from gankit_plugins.dcgan import build_dcgan_generator

    class Wrong:
        image_shape = (32, 32, 3)
        conditions = {"content": (32, 32, 1), "style": (32, 32, 3)}

        def compose_parts(self, drawn):
            return {"image": drawn["style"]}  # shows the discriminator no part

    drawer = build_dcgan_generator(gankit.ModelSpec((32, 32, 4), 8), width=4)
    with pytest.raises(
        ValueError, match=r"compose_parts must return \{image, and one or more of content, style\}"
    ):
        compose_generator(drawer, Wrong(), 8)


def test_unconditional_mnist_cifar_draws_its_parts_by_default(tmp_path, tiny_data):
    out = tmp_path / "P"
    train(out, "--steps", "3", "--condition", "none")
    config = loads_toml((out / "config.toml").read_text())
    assert config["parts"] is True and config["sources"]["parts"] == "dataset 'mnist-cifar'"
    # and keeps a moving average of G's weights unless told otherwise
    assert (
        config["ema_decay"] == 0.999
        and config["sources"]["ema_decay"] == "gankit default for --parts"
    )
    # and no rotation self-supervision unless told (it did not pay at equal time)
    assert config["rotation"] == 0.0
    # the discriminator sees the image with both parts; samples are the composed image
    npz = tmp_path / "s.npz"
    result = CliRunner().invoke(cli, ["sample", "--run", str(out), "-n", "5", "--npz", str(npz)])
    assert result.exit_code == 0, result.output
    images = np.load(npz)["images"]
    assert images.shape == (5, 32, 32, 3) and images.min() >= -1 and images.max() <= 1
    with zipfile.ZipFile(out / "generator.keras") as z:
        model_config = json.loads(z.read("config.json"))
    assert model_config["config"]["name"] == "dcgan_generator"

    # resuming keeps drawing parts; the checkpoint holds the composed generator's weights
    train(out, "--steps", "6", "--condition", "none")
    assert json.loads((out / "run.json").read_text())["step"] == 6

    plain = tmp_path / "N"
    train(plain, "--steps", "3", "--condition", "none", "--no-parts")
    assert loads_toml((plain / "config.toml").read_text())["parts"] is False
    assert loads_toml((plain / "config.toml").read_text())["ema_decay"] == 0.0
    told = tmp_path / "T"
    train(told, "--steps", "3", "--condition", "none", "--ema-decay", "0")
    assert loads_toml((told / "config.toml").read_text())["ema_decay"] == 0.0


def test_parts_only_where_they_mean_something(tmp_path, tiny_data):
    result = train(tmp_path / "a", "--steps", "3", "--parts", code=2)
    assert "--parts is for unconditional runs" in result.output
    result = train(
        tmp_path / "b",
        "--steps",
        "3",
        "--condition",
        "none",
        "--dataset",
        "mnist",
        "--parts",
        code=2,
    )
    assert "dataset 'mnist' does not say how its image is made of parts" in result.output
    assert "Traceback" not in result.output
    # a dataset that cannot compose trains without parts, as before
    train(tmp_path / "c", "--steps", "3", "--condition", "none", "--dataset", "mnist")
    assert loads_toml((tmp_path / "c" / "config.toml").read_text())["parts"] is False


def test_a_run_made_before_parts_existed_still_loads_as_it_was_trained(tmp_path, tiny_data):
    out = tmp_path / "old"
    train(out, "--steps", "3", "--condition", "none", "--no-parts")
    text = (out / "config.toml").read_text()
    old_keys = ("parts", "ema_decay", "rotation")
    (out / "config.toml").write_text(
        "".join(line + "\n" for line in text.splitlines() if not line.startswith(old_keys))
    )
    (
        out / "generator.keras"
    ).unlink()  # sample from the checkpoint: the models are rebuilt from config.toml
    result = CliRunner().invoke(
        cli, ["sample", "--run", str(out), "-n", "2", "--npz", str(tmp_path / "s.npz")]
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("loss", ["wgan-gp"])
def test_gradient_penalty_mixes_the_drawn_parts_too(tmp_path, tiny_data, loss):
    out = tmp_path / "gp"
    train(
        out,
        "--steps",
        "3",
        "--condition",
        "none",
        "--loss",
        loss,
        "-o",
        "discriminator.batch_norm=false",
    )
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["d_gp"]) and r["d_gp"] >= 0 for r in rows)


def test_gradient_penalty_takes_its_norm_over_image_and_drawn_parts():
    import tensorflow as tf

    from gankit_plugins.losses import gradient_penalty

    def critic(inputs, training=True):  # reads the part alone: d/d(content) is all ones
        return tf.reduce_sum(inputs["content"], axis=[1, 2, 3])

    real, fake = tf.zeros((2, 4, 4, 3)), tf.ones((2, 4, 4, 3))
    real_parts, drawn = {"content": tf.zeros((2, 4, 4, 1))}, {"content": tf.ones((2, 4, 4, 1))}
    assert float(gradient_penalty(critic, real, fake, real_parts)) == pytest.approx(
        1.0, rel=1e-4
    )  # same parts: no gradient
    # mixed and watched: the norm is sqrt(16) = 4, so the penalty (4 - 1)^2
    assert float(gradient_penalty(critic, real, fake, real_parts, drawn)) == pytest.approx(
        9.0, rel=1e-4
    )


def test_the_contract_kit_checks_compose_parts(tiny_data):
    import keras

    from gankit.testing import check_dataset
    from gankit.testing.data import TinyLabelledDataset, check_compose_parts

    check_compose_parts(mnist_cifar(tiny_data))  # the built-in passes (check_dataset runs it too)

    class LambdaComposer(TinyLabelledDataset):
        def compose_parts(self, drawn):
            image = keras.layers.Lambda(lambda s: s * 0.5)(drawn["style"])
            return {"image": image, **drawn}

    with pytest.raises(AssertionError, match="does not save and load with Keras alone"):
        check_dataset(LambdaComposer(n_train=8, n_test=8))

    class OutOfRange(TinyLabelledDataset):
        def compose_parts(self, drawn):
            return {"image": keras.layers.Rescaling(3.0)(drawn["style"]), **drawn}

    with pytest.raises(AssertionError, match=r"`image` in \[.*\], outside \[-1, 1\]"):
        check_dataset(OutOfRange(n_train=8, n_test=8))
