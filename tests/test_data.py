"""Datasets: pairing, composition, file formats, bad files, missing files."""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

import gankit
from gankit.errors import DataError
from gankit.plugin.building import take_examples
from gankit.testing import check_dataset
from gankit_plugins.mnist_cifar import (
    build_cifar10,
    build_mnist,
    build_mnist_cifar,
    load_cifar10_arrays,
    pair_mnist_with_cifar,
)


def ctx(folder: Path) -> gankit.DataContext:
    return gankit.DataContext(folder, cache_dir=folder / "no-cache", allow_download=False)


def test_builtin_datasets_meet_the_contract(tiny_data):
    check_dataset(build_mnist_cifar(ctx(tiny_data)))
    check_dataset(build_mnist_cifar(ctx(tiny_data)), split="test")
    check_dataset(build_mnist(ctx(tiny_data)))
    check_dataset(build_cifar10(ctx(tiny_data)))


def test_composite_is_the_mnist_m_difference_blend(tiny_data):
    ex = take_examples(build_mnist_cifar(ctx(tiny_data)), "train", 64)
    assert ex["image"].shape == (64, 32, 32, 3) and ex["content"].shape == (64, 32, 32, 1)
    unit = lambda a: (a + 1.0) / 2.0  # noqa: E731
    np.testing.assert_allclose(
        unit(ex["image"]), np.abs(unit(ex["style"]) - unit(ex["content"])), atol=1e-5
    )
    # the digit is MNIST padded by 2 on each side
    raw = np.load(tiny_data / "mnist.npz")["x_train"][:64]
    np.testing.assert_allclose(unit(ex["content"][:, 2:30, 2:30, 0]) * 255, raw, atol=1e-3)
    assert np.all(ex["content"][:, :2] == -1.0)
    assert ex["label"].dtype == np.int32 and ex["style_label"].dtype == np.int32


def test_pairing_is_seeded_and_uses_every_style_image_evenly():
    a = pair_mnist_with_cifar(1000, 300, seed=1)
    np.testing.assert_array_equal(a, pair_mnist_with_cifar(1000, 300, seed=1))
    assert not np.array_equal(a, pair_mnist_with_cifar(1000, 300, seed=2))
    counts = np.bincount(a, minlength=300)
    assert counts.min() >= 3 and counts.max() <= 4


def test_repairing_each_epoch(tiny_data):
    fixed = build_mnist_cifar(ctx(tiny_data), seed=0)
    moving = build_mnist_cifar(ctx(tiny_data), seed=0, repair_each_epoch=True)
    style = lambda d, e: next(d.load("train", epoch=e).batch(50).as_numpy_iterator())["style_label"]  # noqa: E731
    np.testing.assert_array_equal(style(fixed, 0), style(fixed, 1))
    assert not np.array_equal(style(moving, 0), style(moving, 1))


def test_truncated_npz_is_a_clear_error_naming_the_file(tiny_data):
    path = tiny_data / "mnist.npz"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataError, match="mnist.npz is truncated or not a valid .npz"):
        build_mnist(ctx(tiny_data)).load("train")


def test_wrong_layout_is_a_clear_error(tiny_data):
    np.savez(
        tiny_data / "mnist.npz",
        x_train=np.zeros((3, 28, 27), np.uint8),
        y_train=np.zeros(3),
        x_test=np.zeros((3, 28, 28), np.uint8),
        y_test=np.zeros(3),
    )
    with pytest.raises(
        DataError, match=r"`x_train` has shape \(3, 28, 27\), expected \(N, 28, 28\)"
    ):
        build_mnist(ctx(tiny_data)).load("train")


def write_cifar_tarball(folder: Path, n: int = 20) -> Path:
    rng = np.random.default_rng(0)
    path = folder / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            batch = {
                b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                b"labels": list(rng.integers(0, 10, n)),
            }
            data = pickle.dumps(batch)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_original_cifar_tarball_is_read_in_hwc_rgb(tmp_path):
    path = write_cifar_tarball(tmp_path)
    arrays = load_cifar10_arrays(ctx(tmp_path))
    assert arrays["x_train"].shape == (100, 32, 32, 3) and arrays["x_test"].shape == (20, 32, 32, 3)
    with tarfile.open(path) as tar:
        first = pickle.loads(tar.extractfile("cifar-10-batches-py/data_batch_1").read())
    red_plane = first[b"data"][0, :1024].reshape(32, 32)
    np.testing.assert_array_equal(arrays["x_train"][0, :, :, 0], red_plane)


def test_pickles_with_code_are_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        data = pickle.dumps(Evil())
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(DataError, match="refusing to load builtins.print"):
        load_cifar10_arrays(ctx(tmp_path))


def test_missing_data_offline_names_the_files_and_the_variable(tmp_path):
    with pytest.raises(DataError) as info:
        build_mnist(ctx(tmp_path)).load("train")
    message = str(info.value)
    assert "mnist.npz" in message and "GANKIT_DATA_DIR" in message and "\n" not in message


def test_mnist_cifar_takes_its_styles_from_a_folder_of_pictures(tiny_data, tmp_path):
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(1)
    colours = {}
    for i in range(12):
        colour = rng.integers(0, 256, 3).astype(np.uint8)
        Image.fromarray(np.broadcast_to(colour, (50, 70, 3)).copy()).save(photos / f"p{i}.png")
        colours[tuple(int(c) for c in colour)] = i
    (photos / "broken.jpg").write_text("not a picture")
    dataset = build_mnist_cifar(ctx(tiny_data), styles=photos)
    check_dataset(dataset)
    ex = take_examples(dataset, "train", 32)
    styles = np.rint((ex["style"] + 1.0) * 127.5).astype(int)
    assert all(tuple(s[0, 0]) in colours for s in styles)  # every style is one of the pictures
    assert (ex["style_label"] == -1).all()  # a flat folder has no style classes
