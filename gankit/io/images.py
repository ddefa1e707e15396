"""Image grids and image files: what people look at.

Arrays here are float images in [-1, 1] shaped (N, H, W, C), C in {1, 3}.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gankit.errors import DataError, UsageError

__all__ = ["to_uint8", "image_grid", "paired_grid", "class_grid", "save_png", "read_image"]


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[-1, 1] floats → uint8 RGB (grayscale broadcast to three channels)."""
    images = np.asarray(images, dtype=np.float32)
    out = np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)
    if out.shape[-1] == 1:
        out = np.repeat(out, 3, axis=-1)
    return out


def image_grid(images: np.ndarray, columns: int | None = None, gap: int = 2) -> np.ndarray:
    """Tile (N, H, W, C) images into one uint8 RGB grid with ``gap`` pixels between cells."""
    return paired_grid([images], columns=columns, gap=gap)


def paired_grid(
    groups: Sequence[np.ndarray], columns: int | None = None, gap: int = 2
) -> np.ndarray:
    """Tile examples whose parts (e.g. content | style | output) sit side by side.

    ``groups`` are arrays of the same N; example ``i`` is the cell
    ``[groups[0][i] | groups[1][i] | ...]``. Cells are separated by ``gap`` pixels,
    and the parts of a cell by one pixel, so pairs read as units.
    """
    parts = [to_uint8(g) for g in groups]
    n, h, w, _ = parts[0].shape
    if any(p.shape[:3] != (n, h, w) for p in parts):
        raise ValueError("every group needs the same number and size of images")
    k = len(parts)
    cell_w = k * w + (k - 1)
    if columns is None:
        columns = max(1, int(np.ceil(np.sqrt(n * h / cell_w))))
    rows = int(np.ceil(n / columns))
    grid = np.full(
        (rows * h + (rows + 1) * gap, columns * cell_w + (columns + 1) * gap, 3), 255, np.uint8
    )
    for i in range(n):
        r, c = divmod(i, columns)
        y = gap + r * (h + gap)
        x = gap + c * (cell_w + gap)
        for j, part in enumerate(parts):
            grid[y : y + h, x + j * (w + 1) : x + j * (w + 1) + w] = part[i]
    return grid


def class_grid(
    images: np.ndarray, row_names: Sequence[str], scale: int = 1, gap: int = 2
) -> np.ndarray:
    """One row per class: ``images`` (rows * columns, H, W, C) in row order, upscaled by
    ``scale``, each row headed by its class name in a left margin (uint8 RGB)."""
    from PIL import Image, ImageDraw, ImageFont

    rows = len(row_names)
    if rows == 0 or len(images) % rows:
        raise ValueError("class_grid needs the same number of images for every class")
    grid = paired_grid([images], columns=len(images) // rows, gap=gap)
    picture = Image.fromarray(grid)
    if scale > 1:
        picture = picture.resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST)
    font = ImageFont.load_default()
    margin = 8 + max(int(ImageDraw.Draw(picture).textlength(str(n), font=font)) for n in row_names)
    canvas = Image.new("RGB", (picture.width + margin, picture.height), (255, 255, 255))
    canvas.paste(picture, (margin, 0))
    draw, row_height = ImageDraw.Draw(canvas), picture.height / rows
    for i, name in enumerate(row_names):
        draw.text((4, int((i + 0.5) * row_height) - 5), str(name), fill=(0, 0, 0), font=font)
    return np.asarray(canvas)


def save_png(grid: np.ndarray, path: str | Path, scale: int = 1) -> Path:
    """Write a uint8 image as PNG atomically (temp file + rename), upscaled by ``scale``."""
    from PIL import Image

    from gankit.io.files import atomic_write_bytes

    image = Image.fromarray(grid)
    if scale > 1:
        image = image.resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return atomic_write_bytes(path, buffer.getvalue())


def read_image(path: str | Path, mode: str) -> np.ndarray:
    """Read an image file as uint8 in PIL ``mode`` ("L" or "RGB"); ``UsageError`` if unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                background = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(background, image)
            return np.asarray(image.convert(mode))
    except FileNotFoundError:
        raise UsageError(f"no such image file: {path}") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"cannot read image {path}: {exc}") from None
