"""Using a trained run: sample images, transfer a style."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gankit.conditions import LABEL
from gankit.errors import DataError, UsageError
from gankit.io.images import read_image
from gankit.plugin.registry import Registry
from gankit.run.models import load_generator
from gankit.run.record import refuse_translation_run
from gankit.run.rundir import RunDir

__all__ = [
    "sample",
    "class_inputs",
    "class_index",
    "prepare_content",
    "prepare_style",
    "transfer",
    "image_files",
    "pair_up",
]


def sample(
    run: RunDir,
    registry: Registry,
    n: int,
    seed: int = 0,
    data_dir: str | None = None,
    *,
    best: bool = False,
    classes: str | None = None,
) -> dict[str, np.ndarray]:
    """``n`` generated images (and, for a conditional run, the conditions used).

    Returns ``images`` (n, H, W, C) in [-1, 1] plus ``content``/``style``/``label``
    (every condition of the run, and the labels when the dataset has them). A run
    conditioned on the label alone needs no data: ``classes`` is a class index or name
    (``n`` images of it), ``"all"`` (``n // classes`` of each, row by row), or None
    (the classes in turn, ``label = i % classes``).
    """
    from gankit.plugin.building import build_dataset, take_examples

    refuse_translation_run(run, "gankit sample")
    config = run.read_config()
    names = list(run.read_run_info().get("class_names") or [])
    image_conditions = [c for c in config.condition or [] if c != LABEL]
    if classes is not None and (LABEL not in (config.condition or []) or image_conditions):
        raise UsageError(
            f"--class needs a run trained with --condition label alone; {run.path} was trained "
            f"with condition {','.join(config.condition or []) or 'none'}"
        )
    generator, _ = load_generator(run, registry, best=best)
    rng = np.random.default_rng(seed)
    inputs: dict[str, np.ndarray] = {
        "z": rng.standard_normal((n, config.latent_dim)).astype(np.float32)
    }
    out: dict[str, np.ndarray] = {}
    if config.condition and not image_conditions:  # the label alone
        inputs = _label_inputs(run, names, classes, n, config.latent_dim, seed, inputs)
        out[LABEL] = inputs[LABEL]
    elif config.condition:
        dataset = build_dataset(registry, config.dataset, config.options.get("dataset"), data_dir)
        examples = take_examples(dataset, "test", n, shuffle_seed=seed)
        if len(examples["image"]) < n:
            raise UsageError(f"the test split has only {len(examples['image'])} examples")
        for name in config.condition:
            inputs[name] = out[name] = examples[name]
        if LABEL in examples:
            out[LABEL] = examples[LABEL]
    images = np.asarray(generator.predict(inputs, batch_size=256, verbose=0), dtype=np.float32)
    return {"images": images, **out}


def _label_inputs(
    run: RunDir,
    names: list[str],
    classes: str | None,
    n: int,
    latent_dim: int,
    seed: int,
    inputs: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """The generator's inputs of a run conditioned on the label alone (``--class``)."""
    if not names:
        raise UsageError(
            f"{run.path}/run.json does not name the run's classes (trained by an older gankit?)"
        )
    if classes == "all":
        return class_inputs(list(range(len(names))), max(1, n // len(names)), latent_dim, seed)
    label = (
        np.arange(n) % len(names) if classes is None else np.full(n, class_index(classes, names))
    )
    return {**inputs, LABEL: label.astype(np.int32)}


def class_inputs(
    classes: list[int], per_class: int, latent_dim: int, seed: int
) -> dict[str, np.ndarray]:
    """``z`` and ``label`` for ``per_class`` samples of each of ``classes``, row by row;
    column ``j`` of every row shares its noise, so rows differ by the label alone."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((per_class, latent_dim)).astype(np.float32)
    return {
        "z": np.tile(z, (len(classes), 1)),
        LABEL: np.repeat(np.asarray(classes, np.int32), per_class),
    }


def class_index(value: str, names: list[str]) -> int:
    """A class given by index (``"3"``) or name (``"horse"``) as its index."""
    if value in names:
        return names.index(value)
    if value.isdigit() and int(value) < len(names):
        return int(value)
    shown = ", ".join(f"{i}={n}" for i, n in enumerate(names))
    raise UsageError(
        f"unknown class {value!r}: give an index below {len(names)} or a name ({shown}), or all"
    )


def prepare_content(path: str | Path) -> np.ndarray:
    """A digit image of any size → MNIST-style (32, 32, 1) in [-1, 1].

    As MNIST was made: white ink on black (a dark-on-light drawing is inverted), the
    ink's bounding box scaled to fit 20x20, centred by its centre of mass in 28x28,
    then padded to 32x32.
    """
    from PIL import Image

    gray = read_image(path, "L").astype(np.float32)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if border.mean() > 127:
        gray = 255.0 - gray
    ink = gray > 0.25 * gray.max() if gray.max() > 0 else np.zeros_like(gray, bool)
    if not ink.any():
        raise DataError(f"no digit found in {path}: the image is blank")
    rows, cols = np.where(ink)
    crop = gray[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = crop.shape
    scale = 20.0 / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    digit = np.asarray(
        Image.fromarray(crop.astype(np.uint8)).resize(size, Image.LANCZOS), np.float32
    )
    canvas = np.zeros((28, 28), np.float32)
    ys, xs = np.indices(digit.shape)
    total = max(float(digit.sum()), 1e-6)
    cy, cx = (ys * digit).sum() / total, (xs * digit).sum() / total
    top = int(round(14 - cy))
    left = int(round(14 - cx))
    top = min(max(top, 0), 28 - digit.shape[0])
    left = min(max(left, 0), 28 - digit.shape[1])
    canvas[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    canvas = np.pad(canvas, 2)
    return (np.clip(canvas, 0, 255) / 127.5 - 1.0)[..., None].astype(np.float32)


def prepare_style(path: str | Path, size: int = 32) -> np.ndarray:
    """A style image of any size → centre-cropped, resized (size, size, 3) in [-1, 1]."""
    from PIL import Image

    rgb = read_image(path, "RGB")
    h, w, _ = rgb.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = Image.fromarray(rgb[top : top + side, left : left + side])
    resized = np.asarray(square.resize((size, size), Image.BICUBIC), np.float32)
    return resized / 127.5 - 1.0


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
TRANSFER_BATCH = 256


def image_files(paths: list[str | Path], what: str) -> list[Path]:
    """``paths`` with each directory replaced by the image files in it, sorted."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files = sorted(
                p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
            )
            if not files:
                raise UsageError(
                    f"{what} directory {path} holds no image files ({', '.join(IMAGE_SUFFIXES)})"
                )
            found.extend(files)
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"no such {what} image or directory: {path}")
    return found


def pair_up(contents: list[Path], styles: list[Path], how: str) -> list[tuple[Path, Path]]:
    """Every content with every style (``all``), or the i-th with the i-th (``zip``)."""
    if how == "zip":
        if len(contents) != len(styles):
            raise UsageError(
                f"--pairs zip needs as many content images as style images "
                f"({len(contents)} and {len(styles)})"
            )
        return list(zip(contents, styles))
    return [(c, s) for c in contents for s in styles]


def transfer(
    run: RunDir, registry: Registry, pairs: list[tuple[Path, Path]], seed: int = 0
) -> dict[str, np.ndarray]:
    """Render each pair's digit in its style image with a content,style run, in batches.

    Returns ``images`` (n, 32, 32, 3), ``content`` (n, 32, 32, 1) and ``style``
    (n, 32, 32, 3), all in [-1, 1], in the order of ``pairs``; one noise vector per pair.
    """
    config = run.read_config() if run.exists() else None
    if config is None:
        raise UsageError(f"{run.path} is not a gankit run directory (no config.toml)")
    if sorted(config.condition or []) != ["content", "style"]:
        raise UsageError(
            f"transfer needs a run trained with --condition content,style; {run.path} was "
            f"trained with condition {','.join(config.condition or []) or 'none'}"
        )
    generator, _ = load_generator(run, registry)
    prepared_content = {p: prepare_content(p) for p in dict.fromkeys(c for c, _ in pairs)}
    prepared_style = {p: prepare_style(p) for p in dict.fromkeys(s for _, s in pairs)}
    content = np.stack([prepared_content[c] for c, _ in pairs])
    style = np.stack([prepared_style[s] for _, s in pairs])
    z = (
        np.random.default_rng(seed)
        .standard_normal((len(pairs), config.latent_dim))
        .astype(np.float32)
    )
    images = np.concatenate(
        [
            np.asarray(
                generator(
                    {
                        "z": z[i : i + TRANSFER_BATCH],
                        "content": content[i : i + TRANSFER_BATCH],
                        "style": style[i : i + TRANSFER_BATCH],
                    },
                    training=False,
                ),
                np.float32,
            )
            for i in range(0, len(pairs), TRANSFER_BATCH)
        ]
    )
    return {"images": images, "content": content, "style": style}
