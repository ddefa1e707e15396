"""The `image-folder` dataset and the folder reader under it: every odd file a user's
folder holds, labels and splits from the layout, the cache and its invalidation."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gankit.data import DecodeOptions, SkippedFile, decode_image, open_folder

RNG = np.random.default_rng(0)


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth colour image (compresses like a photo, unlike noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = rng.uniform(40, 200, 3)
    return np.clip(
        base + 50 * np.sin(xx[..., None] / (5 + seed % 7) + yy[..., None] / 9), 0, 255
    ).astype(np.uint8)


def odd_files(folder: Path) -> dict[str, str]:
    """One file per mode and format a user's folder may hold; returns name -> kind."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = _photo(48, 64)
    files = {}

    def save(name: str, image: Image.Image, kind: str, **kw) -> None:
        image.save(folder / name, **kw)
        files[name] = kind

    save("rgb.png", Image.fromarray(rgb), "rgb")
    save("gray.png", Image.fromarray(rgb[..., 0]), "gray")
    save("bilevel.png", Image.fromarray(rgb[..., 0] > 120), "gray")
    save("palette.gif", Image.fromarray(rgb).convert("P"), "rgb")
    save("palette-transparent.png", Image.fromarray(rgb).convert("P"), "rgb", transparency=0)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    rgba[:, :16, 3] = 0  # a transparent band: composited on the background
    save("rgba.png", Image.fromarray(rgba), "rgb")
    save("la.png", Image.fromarray(np.dstack([rgb[..., 0], rgba[..., 3]])), "gray")
    save("cmyk.jpg", Image.fromarray(rgb).convert("CMYK"), "rgb")
    save("sixteen.png", Image.fromarray(rgb[..., 0].astype(np.uint16) * 257), "gray")
    save("thirtytwo.tif", Image.fromarray(rgb[..., 0].astype(np.int32) * 257), "gray")
    save("photo.webp", Image.fromarray(rgb), "rgb")
    save("photo.bmp", Image.fromarray(rgb), "rgb")
    save("photo.tiff", Image.fromarray(rgb), "rgb")
    save("tall.jpg", Image.fromarray(_photo(120, 30, 3)), "rgb", quality=95)
    frames = [
        Image.fromarray(np.full((32, 32, 3), c, np.uint8)) for c in ((200, 20, 20), (20, 20, 200))
    ]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:])
    files["animated.gif"] = "rgb"
    save("tiny.png", Image.fromarray(rgb[:8, :8]), "skip")
    good = folder / "rgb.png"
    (folder / "truncated.jpg").write_bytes(_jpeg_bytes(rgb)[:400])
    files["truncated.jpg"] = "skip"
    (folder / "not-an-image.png").write_text("this is text with an image's extension")
    files["not-an-image.png"] = "skip"
    (folder / "README.md").write_text("not an image; ignored")
    (folder / ".DS_Store").write_bytes(b"\0\1\2")
    (folder / ".hidden").mkdir(exist_ok=True)
    Image.fromarray(rgb).save(folder / ".hidden" / "ignored.png")
    assert good.is_file()
    return files


def _jpeg_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG")
    return buffer.getvalue()


def class_folder(root: Path, classes: dict[str, int], size: tuple[int, int] = (40, 40)) -> Path:
    for c, (name, count) in enumerate(classes.items()):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            Image.fromarray(_photo(*size, seed=c * 100 + i)).save(root / name / f"{i:03d}.png")
    return root


# === Decoding ===


def test_every_mode_and_format_decodes_to_square_rgb(tmp_path):
    files = odd_files(tmp_path / "odd")
    options = DecodeOptions(32)
    for name, kind in files.items():
        if kind == "skip":
            with pytest.raises(SkippedFile):
                decode_image(tmp_path / "odd" / name, options)
            continue
        array, gray = decode_image(tmp_path / "odd" / name, options)
        assert array.shape == (32, 32, 3) and array.dtype == np.uint8, name
        assert gray == (kind == "gray"), name


def test_alpha_sixteen_bit_gif_and_exif(tmp_path):
    odd_files(tmp_path)
    white, _ = decode_image(tmp_path / "rgba.png", DecodeOptions(64, fit="stretch"))
    black, _ = decode_image(
        tmp_path / "rgba.png", DecodeOptions(64, fit="stretch", background=(0, 0, 0))
    )
    assert (white[:, :8] == 255).all() and (black[:, :8] == 0).all()  # the transparent band
    sixteen, _ = decode_image(tmp_path / "sixteen.png", DecodeOptions(64, fit="stretch"))
    eight, _ = decode_image(tmp_path / "gray.png", DecodeOptions(64, fit="stretch"))
    assert np.abs(sixteen.astype(int) - eight.astype(int)).max() <= 1  # scaled, not clipped
    gif, _ = decode_image(tmp_path / "animated.gif", DecodeOptions(32))
    assert tuple(gif[16, 16]) == (200, 20, 20)  # the first frame
    # EXIF orientation 6 (rotate 90 clockwise to display): the decoded image is upright.
    image = Image.fromarray(_photo(20, 40))
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(tmp_path / "rotated.jpg", exif=exif, quality=100)
    image.transpose(Image.Transpose.ROTATE_270).save(tmp_path / "upright.jpg", quality=100)
    rotated, _ = decode_image(tmp_path / "rotated.jpg", DecodeOptions(16, fit="stretch"))
    upright, _ = decode_image(tmp_path / "upright.jpg", DecodeOptions(16, fit="stretch"))
    assert np.abs(rotated.astype(int) - upright.astype(int)).mean() < 6


def test_fit_modes_and_exact_pixels_at_size(tmp_path):
    wide = np.zeros((32, 64, 3), np.uint8)
    wide[:, :16] = 255  # white band on the left quarter
    Image.fromarray(wide).save(tmp_path / "wide.png")
    crop, _ = decode_image(tmp_path / "wide.png", DecodeOptions(32, fit="crop"))
    assert crop.max() == 0  # the centre square misses the band
    pad, _ = decode_image(
        tmp_path / "wide.png", DecodeOptions(32, fit="pad", background=(0, 0, 255))
    )
    assert tuple(pad[0, 16]) == (0, 0, 255) and tuple(pad[16, 2]) == (255, 255, 255)
    stretch, _ = decode_image(tmp_path / "wide.png", DecodeOptions(32, fit="stretch"))
    assert stretch[:, :6].min() > 200
    exact = _photo(32, 32, 5)
    Image.fromarray(exact).save(tmp_path / "exact.png")
    assert np.array_equal(decode_image(tmp_path / "exact.png", DecodeOptions(32))[0], exact)


def test_a_large_jpeg_is_drafted_and_still_right(tmp_path):
    big = _photo(1200, 1600, 2)
    Image.fromarray(big).save(tmp_path / "big.jpg", quality=92)
    small, _ = decode_image(tmp_path / "big.jpg", DecodeOptions(64))
    reference = np.asarray(
        Image.fromarray(big[:, 200:1400]).resize((64, 64), Image.Resampling.LANCZOS)
    )
    assert np.abs(small.astype(int) - reference.astype(int)).mean() < 4


# === The folder: skips, labels, splits, cache ===


def test_odd_folder_skips_and_reports(tmp_path):
    files = odd_files(tmp_path / "odd")
    folder = open_folder(tmp_path / "odd", DecodeOptions(32), cache_root=tmp_path / "cache")
    usable = sorted(n for n, k in files.items() if k != "skip")
    assert folder.files == usable
    assert sorted(p for p, _ in folder.skipped) == sorted(
        n for n, k in files.items() if k == "skip"
    )
    assert folder.class_names == ()  # no subfolders: no labels
    line = folder.summary()
    assert f"{len(usable)} images used" in line and "3 skipped" in line and "\n" not in line
    report = (folder.cache_dir / "skipped.txt").read_text().splitlines()
    assert len(report) == 3 and any(r.startswith("truncated.jpg: cannot decode") for r in report)
    assert any(r.startswith("tiny.png: too small (8x8") for r in report)


def test_labels_from_subfolders_sorted(tmp_path):
    root = class_folder(tmp_path / "pets", {"dogs": 5, "cats": 4, "birds": 3})
    (root / "notes.txt").write_text("ignored")
    folder = open_folder(root, DecodeOptions(16), cache_root=tmp_path / "cache")
    assert folder.class_names == ("birds", "cats", "dogs")
    assert [folder.class_names[i] for i in folder.labels] == [p.split("/")[0] for p in folder.files]
    none = open_folder(root, DecodeOptions(16), labels="none", cache_root=tmp_path / "cache")
    assert none.class_names == () and (none.labels == -1).all()


def test_holdout_split_is_seeded_stable_and_never_empty(tmp_path):
    root = class_folder(tmp_path / "f", {"a": 30, "b": 30})
    one = open_folder(root, DecodeOptions(16), holdout=0.1, seed=3, cache_root=tmp_path / "c")
    again = open_folder(root, DecodeOptions(16), holdout=0.1, seed=3, cache_root=tmp_path / "c")
    other = open_folder(root, DecodeOptions(16), holdout=0.1, seed=4, cache_root=tmp_path / "c")
    assert np.array_equal(one.splits["test"], again.splits["test"])
    assert not np.array_equal(one.splits["test"], other.splits["test"])
    assert (
        1 <= len(one.splits["test"]) < 20
        and len(one.splits["train"]) + len(one.splits["test"]) == 60
    )
    held = {one.files[i] for i in one.splits["test"]}
    Image.fromarray(_photo(40, 40, 999)).save(root / "a" / "new.png")  # adding a file moves none
    grown = open_folder(root, DecodeOptions(16), holdout=0.1, seed=3, cache_root=tmp_path / "c")
    assert held <= {grown.files[i] for i in grown.splits["test"]}
    tiny = class_folder(tmp_path / "two", {"x": 2})
    few = open_folder(tiny, DecodeOptions(16), holdout=0.0, cache_root=tmp_path / "c")
    assert len(few.splits["test"]) == 1 and len(few.splits["train"]) == 1


def test_train_and_test_subfolders_are_the_splits(tmp_path):
    class_folder(tmp_path / "f" / "train", {"a": 4, "b": 3})
    class_folder(tmp_path / "f" / "val", {"a": 2, "b": 1})
    folder = open_folder(tmp_path / "f", DecodeOptions(16), cache_root=tmp_path / "c")
    assert folder.class_names == ("a", "b")
    test_files = sorted(folder.files[i] for i in folder.splits["test"])
    assert test_files == ["val/a/000.png", "val/a/001.png", "val/b/000.png"]
    assert len(folder.splits["train"]) == 7


def test_cache_reuses_rows_and_sees_new_changed_and_deleted_files(tmp_path):
    root = class_folder(tmp_path / "f", {"a": 4, "b": 4})
    cache = tmp_path / "cache"
    first = open_folder(root, DecodeOptions(16), cache_root=cache)
    assert first.decoded_now == 8
    pixels = {f: first.read([r])[0] for f, r in zip(first.files, first.rows)}
    second = open_folder(root, DecodeOptions(16), cache_root=cache)
    assert second.decoded_now == 0 and second.files == first.files
    changed = root / "a" / "001.png"
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(changed)
    os.utime(changed, ns=(time.time_ns(), time.time_ns() + 10**9))
    (root / "b" / "002.png").unlink()
    Image.fromarray(_photo(40, 40, 77)).save(root / "b" / "new.png")
    third = open_folder(root, DecodeOptions(16), cache_root=cache)
    assert third.decoded_now == 2  # the changed and the new file
    assert "b/002.png" not in third.files and "b/new.png" in third.files
    now = {f: third.read([r])[0] for f, r in zip(third.files, third.rows)}
    assert now["a/001.png"].max() == 0
    assert all(np.array_equal(now[f], pixels[f]) for f in now if f in pixels and f != "a/001.png")
    assert len(list(third.cache_dir.glob("images-*.u8"))) == 1  # the old generation is gone
    other_size = open_folder(root, DecodeOptions(32), cache_root=cache)
    assert other_size.decoded_now == 8 and other_size.cache_dir != third.cache_dir


def test_folder_errors_are_one_line(tmp_path):
    import gankit

    with pytest.raises(gankit.UsageError, match="does not exist"):
        open_folder(tmp_path / "nope", DecodeOptions(16))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "a.txt").write_text("x")
    with pytest.raises(gankit.DataError, match=r"holds no image files \(looked for .png, .jpg"):
        open_folder(tmp_path / "empty", DecodeOptions(16))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.jpg").write_text("x")
    with pytest.raises(gankit.DataError, match="none could be used"):
        open_folder(tmp_path / "bad", DecodeOptions(16), cache_root=tmp_path / "c")


# === The dataset ===


def _dataset(**options):
    import gankit

    return gankit.create("datasets", "image-folder", gankit.DataContext(), **options)


def test_dataset_yields_contract_elements_deterministically(tmp_path):
    import gankit

    root = class_folder(tmp_path / "f", {"b": 6, "a": 6}, size=(30, 50))
    ds = _dataset(path=str(root), size=16, holdout=0.25)
    assert ds.image_shape == (16, 16, 3) and ds.class_names == ("a", "b") and ds.num_classes == 2
    gankit.check_dataset(ds, n=4)
    epoch0 = list(ds.load("train", epoch=0).as_numpy_iterator())
    assert len(epoch0) == ds.splits["train"]
    first = epoch0[0]
    assert first["image"].dtype == np.float32 and first["image"].shape == (16, 16, 3)
    assert -1.0 <= first["image"].min() and first["image"].max() <= 1.0
    assert first["label"].dtype == np.int32 and first["label"].shape == ()
    again = list(ds.load("train", epoch=0).as_numpy_iterator())
    later = list(ds.load("train", epoch=1).as_numpy_iterator())
    assert all(np.array_equal(a["image"], b["image"]) for a, b in zip(epoch0, again))
    assert not all(np.array_equal(a["image"], b["image"]) for a, b in zip(epoch0, later))
    assert "classes: a (6), b (6)" in ds.describe()


def test_channels_auto_flip_and_options(tmp_path):
    import gankit

    root = tmp_path / "gray"
    root.mkdir()
    for i in range(5):
        Image.fromarray(_photo(24, 24, i)[..., 0]).save(root / f"{i}.png")
    Image.fromarray(np.repeat(_photo(24, 24, 9)[..., :1], 3, axis=2)).save(
        root / "rgb-but-gray.jpg", quality=100
    )
    gray = _dataset(path=str(root), size=16)
    assert gray.image_shape == (16, 16, 1)
    assert _dataset(path=str(root), size=16, channels=3).image_shape == (16, 16, 3)
    plain = [
        e["image"]
        for e in _dataset(path=str(root), size=16, seed=1).load("train").as_numpy_iterator()
    ]
    flipped = [
        e["image"]
        for e in _dataset(path=str(root), size=16, seed=1, flip=True)
        .load("train")
        .as_numpy_iterator()
    ]
    assert any(
        np.array_equal(f, p[:, ::-1]) and not np.array_equal(f, p) for f, p in zip(flipped, plain)
    )
    for bad, message in (
        ({"size": 40}, "power of two|one of"),
        ({"holdout": 1.5}, "holdout"),
        ({"background": "nocolour"}, "not a colour"),
        ({}, "needs a folder"),
    ):
        with pytest.raises(gankit.UsageError, match=message):
            _dataset(**({"path": str(root)} if bad else {}), **bad)


def test_cli_bad_path_and_preview(tmp_path):
    from gankit.cli import cli

    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "train",
            "--dataset",
            "image-folder",
            "-o",
            f"dataset.path={tmp_path}/nope",
            "--out",
            str(tmp_path / "run"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "does not exist" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()
    root = class_folder(tmp_path / "f", {"x": 3, "y": 3})
    (root / "x" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result = runner.invoke(
        cli,
        [
            "dataset-preview",
            "image-folder",
            "-o",
            f"dataset.path={root}",
            "-o",
            "dataset.size=16",
            "-n",
            "4",
            "--out",
            str(tmp_path / "p.png"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        "6 images used in 2 classes, 1 skipped (1 not an image Pillow can read: x/broken.png"
        in result.output
    )
    assert "classes: x (3), y (3)" in result.output and (tmp_path / "p.png").is_file()


@pytest.mark.slow
def test_train_sample_evaluate_resume_at_64_from_a_folder(tmp_path, monkeypatch):
    from gankit.cli import cli

    monkeypatch.chdir(tmp_path)
    class_folder(tmp_path / "photos", {"p": 40, "q": 40}, size=(70, 90))
    runner = CliRunner()
    args = [
        "train",
        "--dataset",
        "image-folder",
        "-o",
        "dataset.path=photos",
        "-o",
        "dataset.size=64",
        "--condition",
        "none",
        "--batch-size",
        "8",
        "--log-every",
        "2",
        "--sample-every",
        "4",
        "--checkpoint-every",
        "2",
        "-o",
        "generator.width=4",
        "-o",
        "discriminator.width=4",
        "--out",
        "run",
        "--precision",
        "float32",
    ]
    result = runner.invoke(cli, [*args, "--steps", "2"])
    assert result.exit_code == 0, result.output
    from gankit.run.rundir import RunDir

    saved = RunDir(tmp_path / "run").read_config()
    assert saved.options["dataset"]["path"] == str(tmp_path / "photos")  # stored absolute
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # resume from another folder
    result = runner.invoke(cli, ["train", "--out", str(tmp_path / "run"), "--steps", "4"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "samples" / "step_000004.png").is_file()
    result = runner.invoke(
        cli, ["sample", "--run", str(tmp_path / "run"), "-n", "4", "--npz", str(tmp_path / "s.npz")]
    )
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "s.npz")["images"].shape == (4, 64, 64, 3)
    result = runner.invoke(
        cli,
        [
            "evaluate",
            "--run",
            str(tmp_path / "run"),
            "--metric",
            "fid",
            "-o",
            "metric.extractor=classifier",
            "-n",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "fid [classifier]" in result.output


@pytest.mark.integration
def test_cifar10_written_as_png_folders_reads_back_exactly(real_data, tmp_path):
    """The reader is lossless where it should be: CIFAR-10's test split as PNG files in
    class folders, read at its own size, is the `cifar10` dataset's pixels and labels."""
    import gankit

    cifar = gankit.create("datasets", "cifar10", gankit.DataContext(real_data))
    arrays = cifar.arrays()
    x, y = arrays["x_test"], arrays["y_test"]
    root = tmp_path / "cifar-png"
    for name in cifar.class_names:
        (root / name).mkdir(parents=True)
    for i, (image, label) in enumerate(zip(x, y)):
        Image.fromarray(image).save(
            root / cifar.class_names[label] / f"{i:05d}.png", compress_level=1
        )
    ds = gankit.create("datasets", "image-folder", gankit.DataContext(), path=str(root), size=32)
    assert ds.class_names == cifar.class_names  # sorted folder names are CIFAR-10's label order
    assert sum(ds.splits.values()) == len(x) and ds.image_shape == (32, 32, 3)
    folder = ds.folder
    index = np.array([int(Path(p).stem) for p in folder.files])
    assert np.array_equal(folder.read(folder.rows), x[index])
    assert np.array_equal(folder.labels, y[index].astype(np.int32))
    by_pixels = {x[i].tobytes(): int(y[i]) for i in index}
    elements = list(ds.load("test").as_numpy_iterator())
    assert len(elements) == ds.splits["test"]
    for element in elements:  # what the trainer sees: [-1, 1] floats of those pixels, and the label
        assert element["image"].dtype == np.float32
        pixels = np.rint((element["image"] + 1.0) * 127.5).astype(np.uint8)
        assert by_pixels[pixels.tobytes()] == int(element["label"])


def test_damaged_files_of_every_format_are_skipped_or_decoded_never_raised(tmp_path):
    """Bytes flipped inside real files: Pillow raises many kinds of errors; each is one
    skipped file, never the end of the run."""
    odd_files(tmp_path / "odd")
    rng = np.random.default_rng(7)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for source in sorted(
        p for p in (tmp_path / "odd").iterdir() if p.is_file() and not p.name.startswith(".")
    ):
        data = bytearray(source.read_bytes())
        for copy in range(12):
            mutated = bytearray(data)
            for i in rng.integers(0, len(mutated), 8):
                mutated[i] = int(rng.integers(0, 256))
            (damaged / f"{copy}-{source.name}").write_bytes(
                bytes(mutated[: len(mutated) - copy * 7])
            )
    folder = open_folder(damaged, DecodeOptions(16), cache_root=tmp_path / "c")
    assert len(folder.files) + len(folder.skipped) == len(
        [p for p in damaged.iterdir() if p.suffix != ".md"]
    )
