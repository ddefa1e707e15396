"""Using a trained run: sample images, transfer a style."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gankit.errors import DataError, UsageError
from gankit.io.images import read_image
from gankit.plugin.registry import Registry
from gankit.run.models import load_generator
from gankit.run.rundir import RunDir

__all__ = ["sample", "prepare_content", "prepare_style", "transfer"]


def sample(
    run: RunDir, registry: Registry, n: int, seed: int = 0, data_dir: str | None = None, *, best: bool = False
) -> dict[str, np.ndarray]:
    """``n`` generated images (and, for a conditional run, the test-split conditions used).

    Returns ``images`` (n, H, W, C) in [-1, 1] plus ``content``/``style``/``label``
    (every condition of the run, and the labels when the dataset has them).
    """
    from gankit.plugin.building import build_dataset, take_examples

    generator, _ = load_generator(run, registry, best=best)
    config = run.read_config()
    rng = np.random.default_rng(seed)
    inputs: dict[str, np.ndarray] = {
        "z": rng.standard_normal((n, config.latent_dim)).astype(np.float32)
    }
    out: dict[str, np.ndarray] = {}
    if config.condition:
        dataset = build_dataset(registry, config.dataset, config.options.get("dataset"), data_dir)
        examples = take_examples(dataset, "test", n, shuffle_seed=seed)
        if len(examples["image"]) < n:
            raise UsageError(f"the test split has only {len(examples['image'])} examples")
        for name in config.condition:
            inputs[name] = out[name] = examples[name]
        if "label" in examples:
            out["label"] = examples["label"]
    images = np.asarray(generator.predict(inputs, batch_size=256, verbose=0), dtype=np.float32)
    return {"images": images, **out}


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
    digit = np.asarray(Image.fromarray(crop.astype(np.uint8)).resize(size, Image.LANCZOS), np.float32)
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


def transfer(run: RunDir, registry: Registry, content: str | Path, style: str | Path, seed: int = 0) -> dict[str, np.ndarray]:
    """Render the digit in ``content`` in the style of ``style`` with a content,style run."""
    config = run.read_config() if run.exists() else None
    if config is None:
        raise UsageError(f"{run.path} is not a gankit run directory (no config.toml)")
    if sorted(config.condition or []) != ["content", "style"]:
        raise UsageError(
            f"transfer needs a run trained with --condition content,style; {run.path} was "
            f"trained with condition {','.join(config.condition or []) or 'none'}"
        )
    generator, _ = load_generator(run, registry)
    c, s = prepare_content(content), prepare_style(style)
    z = np.random.default_rng(seed).standard_normal((1, config.latent_dim)).astype(np.float32)
    image = np.asarray(generator({"z": z, "content": c[None], "style": s[None]}, training=False))
    return {"image": image[0], "content": c, "style": s}
