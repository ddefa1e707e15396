"""Image-to-image translation: the two-domain and paired datasets, the translation
networks, the cyclegan and pix2pix schemes, and `gankit translate`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gankit.cli import cli

SMALL = [
    "-o",
    "generator.width=8",
    "-o",
    "discriminator.width=8",
    "--batch-size",
    "4",
    "--log-every",
    "2",
    "--sample-every",
    "2",
    "--checkpoint-every",
    "2",
]
TRANSLATOR = [*SMALL, "-o", "generator.blocks=2"]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def _photo(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = rng.uniform(40, 200, 3)
    return np.clip(
        base + 50 * np.sin(xx[..., None] / (5 + seed % 7) + yy[..., None] / 9), 0, 255
    ).astype(np.uint8)


# === Networks ===


def test_reflection_padding_is_numpys_in_keras_core_layers():
    import keras

    from gankit_plugins.translators import reflection_pad

    x = keras.Input((6, 7, 2))
    model = keras.Model(x, reflection_pad(x, 3, "pad"))
    a = np.random.default_rng(0).uniform(size=(2, 6, 7, 2)).astype(np.float32)
    np.testing.assert_array_equal(
        np.asarray(model(a)), np.pad(a, ((0, 0), (3, 3), (3, 3), (0, 0)), mode="reflect")
    )
    assert {type(layer).__module__.split(".")[0] for layer in model.layers} == {"keras"}


@pytest.mark.parametrize(
    "family,name",
    [("generators", "resnet-translator"), ("generators", "unet"), ("discriminators", "patchgan")],
)
def test_translation_networks_pass_the_contract_kit(family, name):
    import gankit
    from gankit.testing import check_discriminator, check_generator

    component = next(c for c in gankit.registered(family) if c.name == name)
    options = {"width": 8, **({"blocks": 2} if name == "resnet-translator" else {})}
    check = check_generator if family == "generators" else check_discriminator
    check(component.factory, options=options, precisions=("float32",))


def test_resnet_translator_exposes_its_encoder_and_is_cyclegans_size():
    import gankit

    spec = gankit.ModelSpec((256, 256, 3), 8, {"source": (256, 256, 3)}, translation=True)
    g = gankit.create("generators", "resnet-translator", spec)
    # CycleGAN's resnet_9blocks (11,378,179 weights) plus instance norm's scale and offset (2 x
    # 5248)
    assert g.count_params() == 11_378_179 + 10_496
    assert [layer.name for layer in g.layers if layer.name.startswith("encoder_")] == [
        f"encoder_{i}" for i in range(5)
    ]


def test_a_noise_generator_is_refused_for_a_translation_scheme(tmp_path, tiny_data):
    result = invoke(
        "train",
        "--scheme",
        "cyclegan",
        "--dataset",
        "mnist-cifar-unpaired",
        "--generator",
        "dcgan",
        "--steps",
        "2",
        "--out",
        str(tmp_path / "R"),
        *SMALL,
    )
    assert result.exit_code == 1 and "is not a translation generator" in result.output
    assert not (tmp_path / "R").exists()


# === The image history ===


def test_the_image_pool_fills_then_swaps_half_its_images():
    from gankit.terms import ImagePool

    pool = ImagePool(4, (2, 2, 1), "test")
    batch = lambda v: np.full((2, 2, 2, 1), v, np.float32)  # noqa: E731
    noise = np.array([[1.0, 0.0], [-1.0, 0.0]], np.float32)  # first: swap if full; second: keep
    np.testing.assert_array_equal(pool.query(batch(1), noise), batch(1))  # filling: passed through
    np.testing.assert_array_equal(pool.query(batch(2), noise), batch(2))
    assert int(pool.count.numpy()) == 4
    out = np.asarray(pool.query(batch(3), noise))
    assert (
        out[0].max() in (1.0, 2.0) and out[1].min() == 3.0
    )  # swapped for a stored one; passed through
    history = np.asarray(pool.images.numpy())[:4]
    assert (history == 3.0).all(
        axis=(1, 2, 3)
    ).sum() == 1  # the swapped-in one; the passed-through one is not kept


# === Datasets ===


def _domains(root: Path, real: Path | None = None) -> Path:
    """trainA/ (horses) and trainB/ (deer) JPEGs, with odd files."""
    import gankit

    cifar = gankit.create("datasets", "cifar10", gankit.DataContext(real)).arrays()
    for folder, label in (("trainA", 7), ("trainB", 4)):
        (root / folder).mkdir(parents=True)
        for i, image in enumerate(cifar["x_test"][cifar["y_test"] == label][:24]):
            Image.fromarray(image).save(root / folder / f"{i:03d}.jpg", quality=95)
    photo = _photo(40, 40, 1)
    Image.fromarray(photo).convert("CMYK").save(root / "trainA" / "cmyk.jpg")
    (root / "trainA" / "truncated.jpg").write_bytes(
        (root / "trainA" / "000.jpg").read_bytes()[:300]
    )
    (root / "trainB" / "notes.jpg").write_text("a text file")
    return root


def test_two_domain_jpegs_with_odd_files_train_at_64_px(tmp_path, real_data):
    root = _domains(tmp_path / "horse2deer", real_data)
    out = tmp_path / "R"
    result = invoke(
        "train",
        "--scheme",
        "cyclegan",
        "--dataset",
        "image-folder",
        "-o",
        f"dataset.path={root}",
        "-o",
        "dataset.size=64",
        "--steps",
        "2",
        "--out",
        str(out),
        *TRANSLATOR,
    )
    assert result.exit_code == 0, result.output
    skipped = [line for line in result.output.splitlines() if "skipped" in line]
    assert any("trainA" in line and "truncated.jpg" in line for line in skipped)
    assert any("trainB" in line and "notes.jpg" in line for line in skipped)
    assert "pairs" not in result.output and "unpaired images (A: train" in result.output
    grid = np.asarray(Image.open(out / "samples" / "step_000002.png"))
    assert grid.shape[1] >= 6 * 64  # input | translated | reconstructed, both ways, at 64 px


def test_paired_and_side_by_side_folders(tmp_path):
    import gankit

    paired = tmp_path / "paired"
    for name in ("A", "B"):
        (paired / name).mkdir(parents=True)
    for i in range(6):
        Image.fromarray(_photo(32, 32, i)).save(paired / "A" / f"{i}.png")
        Image.fromarray(255 - _photo(32, 32, i)).save(paired / "B" / f"{i}.jpg", quality=100)
    Image.fromarray(_photo(32, 32, 9)).save(paired / "A" / "lonely.png")
    ds = gankit.create(
        "datasets",
        "image-folder",
        gankit.DataContext(),
        path=str(paired),
        size=32,
        layout="paired",
        holdout=0.3,
    )
    assert (
        ds.paired
        and ds.source == "source"
        and "1 files without a twin left out (lonely)" in ds.describe()
    )
    for element in ds.load("train").as_numpy_iterator():  # B is A's negative: the twins are matched
        assert np.abs(element["image"] + element["source"]).mean() < 0.05

    sbs = tmp_path / "sbs"
    sbs.mkdir()
    for i in range(4):
        left, right = np.zeros((32, 32, 3), np.uint8), np.zeros((32, 32, 3), np.uint8)
        left[..., 0], right[..., 2] = 200 + i, 100 + i
        Image.fromarray(np.concatenate([left, right], axis=1)).save(sbs / f"{i}.png")
    ds = gankit.create(
        "datasets",
        "image-folder",
        gankit.DataContext(),
        path=str(sbs),
        size=32,
        layout="side-by-side",
    )
    element = next(ds.load("train").as_numpy_iterator())
    red = np.rint((element["source"] + 1) * 127.5)
    blue = np.rint((element["image"] + 1) * 127.5)
    assert (
        red[..., 0].min() >= 200
        and red[..., 2].max() == 0
        and blue[..., 2].min() >= 100
        and blue[..., 0].max() == 0
    )


def test_pix2pix_trains_on_paired_folders_and_refuses_unpaired_ones(tmp_path):
    paired = tmp_path / "pairs"
    for name in ("A", "B"):
        (paired / name).mkdir(parents=True)
    for i in range(12):
        Image.fromarray(_photo(32, 32, i)).save(paired / "A" / f"{i}.png")
        Image.fromarray(255 - _photo(32, 32, i)).save(paired / "B" / f"{i}.png")
    data = ["--dataset", "image-folder", "-o", f"dataset.path={paired}", "-o", "dataset.size=32"]
    result = invoke(
        "train",
        "--scheme",
        "pix2pix",
        *data,
        "-o",
        "dataset.layout=paired",
        "--steps",
        "2",
        "--out",
        str(tmp_path / "P"),
        *SMALL,
    )
    assert result.exit_code == 0, result.output
    assert "g_l1" in (tmp_path / "P" / "metrics.jsonl").read_text()
    result = invoke(
        "train",
        "--scheme",
        "pix2pix",
        *data,
        "-o",
        "dataset.domains=A,B",
        "--steps",
        "2",
        "--out",
        str(tmp_path / "U"),
        *SMALL,
    )
    assert result.exit_code == 1 and not (tmp_path / "U").exists()
    assert result.output.strip().splitlines()[-1].startswith("Error: scheme 'pix2pix'")
    assert "has two unpaired domains, not pairs" in result.output


def test_cyclegan_refuses_a_one_domain_dataset_before_making_the_run(tmp_path, tiny_data):
    result = invoke(
        "train",
        "--scheme",
        "cyclegan",
        "--dataset",
        "mnist",
        "--steps",
        "2",
        "--out",
        str(tmp_path / "R"),
        *TRANSLATOR,
    )
    assert result.exit_code == 1 and not (tmp_path / "R").exists()
    assert "scheme 'cyclegan'" in result.output and "has one image domain, not two" in result.output


def test_unpaired_data_without_a_scheme_trains_the_default_unpaired_scheme(tmp_path, tiny_data):
    from gankit.scheme import DEFAULT_UNPAIRED_SCHEME

    out = tmp_path / "R"
    result = invoke(
        "train", "--dataset", "mnist-cifar-unpaired", "--steps", "2", "--out", str(out), *SMALL
    )
    assert result.exit_code == 0, result.output
    config = (out / "config.toml").read_text()
    assert f'scheme = "{DEFAULT_UNPAIRED_SCHEME}"' in config
    assert "scheme = \"dataset 'mnist-cifar-unpaired'\"" in config
    folder = tmp_path / "photos"
    for domain, seed in (("trainA", 0), ("trainB", 10)):
        (folder / domain).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(_photo(40, 40, seed + i)).save(folder / domain / f"{i}.png")
    refused = invoke(
        "train",
        "--dataset",
        "image-folder",
        "-o",
        f"dataset.path={folder}",
        "-o",
        "dataset.size=32",
        "--out",
        str(tmp_path / "F"),
    )
    assert refused.exit_code != 0 and not (tmp_path / "F").exists()
    last = refused.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and f"--scheme {DEFAULT_UNPAIRED_SCHEME}" in last
    assert "Traceback" not in refused.output
    too_big = invoke(  # 3 training pictures a domain, batch 32: refused before the folder too
        "train",
        "--scheme",
        "fastcut",
        "--dataset",
        "image-folder",
        "-o",
        f"dataset.path={folder}",
        "-o",
        "dataset.size=32",
        "--out",
        str(tmp_path / "G"),
    )
    assert too_big.exit_code != 0 and not (tmp_path / "G").exists()
    assert "larger than the training split (3 examples)" in too_big.output


# === The cyclegan scheme end to end ===


@pytest.fixture
def cyclegan_run(tmp_path, tiny_data) -> Path:
    out = tmp_path / "R"
    result = invoke(
        "train",
        "--scheme",
        "cyclegan",
        "--dataset",
        "mnist-cifar-unpaired",
        "--steps",
        "4",
        "--out",
        str(out),
        *TRANSLATOR,
    )
    assert result.exit_code == 0, result.output
    return out


def test_cyclegan_trains_resumes_and_exports_both_directions(cyclegan_run, tmp_path):
    out = cyclegan_run
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert {"d_loss", "g_loss", "g_cycle", "g_gan_ab", "g_gan_ba", "d_a", "d_b"} <= set(records[-1])
    config = (out / "config.toml").read_text()
    assert (
        'generator = "resnet-translator"' in config
        and 'loss = "lsgan"' in config
        and "lr_decay = 0.5" in config
    )
    groups = json.loads(str(np.load(out / "checkpoints" / "step_000004.npz")["__meta__"]))
    assert {"scheme/pool_a", "scheme/pool_b", "g_ab/weights", "d_b/weights"} <= set(groups)
    result = invoke("train", "--out", str(out), "--steps", "6", *TRANSLATOR)
    assert result.exit_code == 0, result.output
    assert "resuming" in result.output
    code = (
        "import keras, numpy as np, sys\n"
        f"a2b = keras.models.load_model({str(out / 'generator_a2b.keras')!r}, safe_mode=True)\n"
        f"b2a = keras.models.load_model({str(out / 'generator_b2a.keras')!r}, safe_mode=True)\n"
        "b = a2b(np.zeros((3, 32, 32, 1), np.float32))\n"
        "a = b2a(np.zeros((3, 32, 32, 3), np.float32))\n"
        "assert b.shape == (3, 32, 32, 3) and a.shape == (3, 32, 32, 1), (b.shape, a.shape)\n"
        "assert float(np.abs(b).max()) <= 1.0\n"
        "assert not any(m.startswith('gankit') for m in sys.modules)\n"
        "print('ok')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert run.stdout.strip().endswith("ok"), run.stderr[-2000:]


def test_translate_writes_one_picture_per_input_and_lists_what_it_skipped(cyclegan_run, tmp_path):
    digits = tmp_path / "digits"
    (digits / "more").mkdir(parents=True)
    for i in range(3):
        Image.fromarray(_photo(28, 28, i)[..., 0]).save(digits / f"d{i}.png")
    Image.fromarray(_photo(40, 30, 5)).save(digits / "more" / "d0.jpg")
    (digits / "notes.txt").write_text("not a picture")
    (digits / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    out = tmp_path / "out"
    result = invoke("translate", "--run", str(cyclegan_run), "--input", str(digits), "-o", str(out))
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert written == ["d0.png", "d1.png", "d2.png", "more/d0.png"]
    assert Image.open(out / "d0.png").size == (32, 32)
    assert (
        "skipped 2 files" in result.output
        and "notes.txt" in result.output
        and "broken.png" in result.output
    )
    back = invoke(
        "translate",
        "--run",
        str(cyclegan_run),
        "--input",
        str(out / "d1.png"),
        "--direction",
        "b2a",
        "-o",
        str(tmp_path / "back"),
    )
    assert back.exit_code == 0 and (tmp_path / "back" / "d1.png").is_file()
    (
        cyclegan_run / "generator_b2a.keras"
    ).unlink()  # from the checkpoint: no dataset, this role only
    again = invoke(
        "translate",
        "--run",
        str(cyclegan_run),
        "--input",
        str(out / "d1.png"),
        "--direction",
        "b2a",
        "-o",
        str(tmp_path / "again"),
    )
    assert again.exit_code == 0, again.output
    first, second = (np.asarray(Image.open(tmp_path / d / "d1.png")) for d in ("back", "again"))
    assert (
        np.abs(first.astype(int) - second.astype(int)).max() <= 2
    )  # bf16 rebuild vs float32 export
    refused = invoke("sample", "--run", str(cyclegan_run))
    assert refused.exit_code == 2 and "gankit translate --run" in refused.output


def test_evaluate_scores_each_direction_against_its_target_domain(cyclegan_run, tmp_path):
    from gankit.eval.directions import DomainView
    from gankit.plugin.building import build_dataset, take_examples
    from gankit.plugin.loader import load_plugins

    dataset = build_dataset(load_plugins().registry, "mnist-cifar-unpaired", {}, None)
    forward, backward = (
        take_examples(dataset, "test", 3),
        take_examples(DomainView(dataset), "test", 3),
    )
    assert backward["image"].shape[-1] == 1 and backward["source"].shape[-1] == 3
    assert np.array_equal(backward["image"], forward["source"])
    result = invoke(
        "evaluate",
        "--run",
        str(cyclegan_run),
        "--metric",
        "fid",
        "--metric",
        "kid",
        "-o",
        "metric.extractor=classifier",
        "-n",
        "40",
        "--json",
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [(r["metric"], r["protocol"]["direction"]) for r in records] == [
        ("fid", "a2b"),
        ("kid", "a2b"),
        ("fid", "b2a"),
        ("kid", "b2a"),
    ]
    assert all(r["protocol"]["step"] == 4 and r["protocol"]["n"] == 40 for r in records)
    assert all(np.isfinite(r["value"]) and r["value"] > 0 for r in records)
    # Each direction's features come from a classifier of its own target domain.
    shapes = sorted(
        json.loads(p.read_text())["image_shape"][-1]
        for p in (Path(os.environ["GANKIT_CACHE_DIR"]) / "classifiers").glob("*.json")
    )
    assert shapes == [1, 3]
    logged = (cyclegan_run / "evals.jsonl").read_text().splitlines()
    assert len(logged) == 4


def test_cyclegan_under_mirrored_keeps_one_devices_pool_and_losses(tmp_path, tiny_data):
    """Two logical CPUs against one: the image history (small, so it swaps) and the
    losses agree up to summation order."""
    common = [
        "--scheme",
        "cyclegan",
        "--dataset",
        "mnist-cifar-unpaired",
        "--steps",
        "6",
        "--log-every",
        "1",
        "-o",
        "scheme.pool_size=6",
        "--precision",
        "float32",
        *TRANSLATOR,
    ]
    for name, args in {
        "one": ["--strategy", "default"],
        "two": ["--strategy", "mirrored", "--cpu-devices", "2"],
    }.items():
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "gankit",
                "train",
                *args,
                "--out",
                str(tmp_path / name),
                *common,
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((tmp_path / "two" / "run.json").read_text())["replicas"] == 2
    one, two = (
        [json.loads(line) for line in (tmp_path / n / "metrics.jsonl").read_text().splitlines()]
        for n in ("one", "two")
    )
    for a, b in zip(one, two, strict=True):
        for key in ("d_loss", "g_loss", "g_cycle", "d_a", "d_b"):
            assert b[key] == pytest.approx(a[key], rel=1e-3), (a["step"], key)
    pools = [np.load(tmp_path / n / "checkpoints" / "step_000006.npz") for n in ("one", "two")]
    meta = json.loads(str(pools[0]["__meta__"]))
    assert len(meta["scheme/pool_b"]) == 2
    for key in [k for k in pools[0].files if k.startswith("scheme/")]:
        if pools[0][key].ndim == 0:  # how many it holds
            assert pools[0][key] == pools[1][key] == 6
        else:  # the same fakes in the same slots, from weights that differ by summation order
            assert np.abs(pools[0][key] - pools[1][key]).mean() < 5e-3, key


@pytest.mark.parametrize("scheme", ["cut", "fastcut"])
def test_cut_and_fastcut_train_resume_and_export(scheme, tmp_path, tiny_data):
    out = tmp_path / scheme
    args = [
        "--scheme",
        scheme,
        "--dataset",
        "mnist-cifar-unpaired",
        "--out",
        str(out),
        *TRANSLATOR,
        "-o",
        "scheme.num_patches=16",
    ]
    assert invoke("train", *args, "--steps", "2").exit_code == 0
    result = invoke("train", *args, "--steps", "4")
    assert result.exit_code == 0 and "resuming" in result.output, result.output
    record = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()][-1]
    assert ("g_nce_identity" in record) == (scheme == "cut") and record["g_nce"] > 0
    info = json.loads((out / "run.json").read_text())
    assert info["roles"]["f"]["family"] == "scheme" and info["parameters"]["f"] > 0
    assert (out / "generator_a2b.keras").is_file() and not (out / "generator_b2a.keras").exists()
    config = (out / "config.toml").read_text()
    if scheme == "fastcut":  # the scheme's declared average and slower discriminator
        assert "ema_decay = 0.999" in config and "lr_d = 5e-05" in config
        assert "ema_decay = \"scheme 'fastcut'" in config
    else:
        assert "ema_decay = 0.0" in config and "lr_d = 0.0002" in config


def test_the_builtin_schemes_and_networks_pass_gankit_check():
    result = invoke("check", "gankit_plugins.cut")
    assert result.exit_code == 0, result.output
    assert "ok   scheme 'cut'" in result.output and "ok   scheme 'fastcut'" in result.output
    for plugin in ("gankit_plugins.cyclegan", "gankit_plugins.pix2pix"):
        assert invoke("check", plugin).exit_code == 0
    result = invoke(
        "check",
        "gankit_plugins.translators",
        "-o",
        "generator.width=8",
        "-o",
        "generator.blocks=2",
        "-o",
        "discriminator.width=8",
    )
    assert result.exit_code == 0 and result.output.count("ok   ") == 4, result.output
