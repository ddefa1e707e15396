"""Decoding one image file of any format, size and mode to a square uint8 RGB array.

What :func:`decode_image` does to a file, in order:

1. opens it with Pillow (PNG, JPEG, BMP, GIF — its first frame —, WebP, TIFF); a JPEG
   is decoded at the smallest DCT scale that still covers the target size (Pillow's
   ``draft``), so a 4000x3000 photo costs a fraction of a full decode;
2. applies the EXIF orientation, and keeps the ``half`` asked for (pix2pix's
   side-by-side pairs: ``left`` or ``right``);
3. brings every mode to RGB: 1-bit and 8-bit gray are replicated, 16-bit and 32-bit
   gray scaled to 8 bits, palettes expanded, CMYK / YCbCr / LAB converted, and alpha
   (RGBA, LA, PA, a palette's transparent index) composited on ``background``;
4. makes it square by ``fit``: ``crop`` (centre square), ``pad`` (centred on a square
   of ``background``) or ``stretch``;
5. resizes to ``size`` with ``resample`` (Lanczos by default; ``box`` is the area
   average). An image already at ``size`` x ``size`` keeps its exact pixels.

A file that cannot be used raises :class:`SkippedFile` with a short reason.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FITS", "RESAMPLING", "DecodeOptions", "SkippedFile", "decode_image", "parse_colour"]

FITS = ("crop", "pad", "stretch")
RESAMPLING = ("lanczos", "box", "bicubic")
HALVES = ("", "left", "right")
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")


class SkippedFile(Exception):
    """A file the folder reader leaves out; ``str(exc)`` is the reason."""


@dataclass(frozen=True)
class DecodeOptions:
    """How every file of a folder is decoded (each field is part of the cache key).

    Attributes:
        size: the side of the square output, in pixels.
        fit: how a non-square image becomes square (one of :data:`FITS`).
        background: RGB that alpha is composited on, and ``pad``'s fill.
        resample: the resampling filter (one of :data:`RESAMPLING`).
        min_size: images whose shorter side is smaller are skipped.
        half: ``""`` (the whole image), ``"left"`` or ``"right"``: the half of an image
            that holds two side by side (pix2pix's ``AB`` files).
    """

    size: int
    fit: str = "crop"
    background: tuple[int, int, int] = (255, 255, 255)
    resample: str = "lanczos"
    min_size: int = 16
    half: str = ""

    def __post_init__(self) -> None:
        if self.half not in HALVES:
            raise ValueError(
                f"`half` must be one of {', '.join(map(repr, HALVES))}, received `{self.half}`."
            )
        if self.fit not in FITS:
            raise ValueError(f"`fit` must be one of {', '.join(FITS)}, received `{self.fit}`.")
        if self.resample not in RESAMPLING:
            raise ValueError(
                f"`resample` must be one of {', '.join(RESAMPLING)}, received `{self.resample}`."
            )
        if self.size < 1 or self.min_size < 1:
            raise ValueError(
                f"`size` and `min_size` must be positive, received `{self.size}`, "
                f"`{self.min_size}`."
            )

    def key(self) -> dict[str, Any]:
        key = {**asdict(self), "background": list(self.background)}
        if not self.half:
            del key["half"]  # caches made before halves existed stay valid
        return key


def parse_colour(text: str) -> tuple[int, int, int]:
    """A colour name or ``#rrggbb`` as RGB; ``ValueError`` for anything else."""
    from PIL import ImageColor

    try:
        rgb = ImageColor.getrgb(text)
    except ValueError:
        raise ValueError(f"not a colour: {text!r} (a name such as white, or #rrggbb)") from None
    return (int(rgb[0]), int(rgb[1]), int(rgb[2]))


def decode_image(path: str | Path, options: DecodeOptions) -> tuple[np.ndarray, bool]:
    """``path`` as ``(size, size, 3)`` uint8 RGB, and whether it is grayscale (all three
    channels equal). Raises :class:`SkippedFile` for a file that cannot be used."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's palette/EXIF warnings: the file still decodes
        try:
            with Image.open(path) as image:
                width, height = image.size
                width = width // 2 if options.half else width
                if min(width, height) < options.min_size:
                    raise SkippedFile(f"too small ({width}x{height}; min_size {options.min_size})")
                if image.format == "JPEG":
                    image.draft(None, _draft_size((width, height), options, image.size))
                image.load()
                image = ImageOps.exif_transpose(image)
                if options.half:
                    half = image.width // 2
                    image = image.crop(
                        (0, 0, half, image.height)
                        if options.half == "left"
                        else (half, 0, 2 * half, image.height)
                    )
                rgb, gray = _to_rgb(image, options.background)
                array = np.asarray(_fit(rgb, options), dtype=np.uint8)
        except SkippedFile:
            raise
        except Image.DecompressionBombError as exc:
            raise SkippedFile(f"too large to decode safely ({_first_line(exc)})") from None
        except UnidentifiedImageError:
            raise SkippedFile("not an image Pillow can read") from None
        except MemoryError:
            raise SkippedFile("too large for the memory left") from None
        except (
            Exception
        ) as exc:  # a damaged file makes Pillow raise many kinds: one file, never the run
            raise SkippedFile(f"cannot decode ({_first_line(exc)})") from None
    if not gray:
        gray = bool(
            (array[..., 0] == array[..., 1]).all() and (array[..., 1] == array[..., 2]).all()
        )
    return array, gray


def _draft_size(
    size: tuple[int, int], options: DecodeOptions, whole: tuple[int, int] | None = None
) -> tuple[int, int]:
    """The smallest size a JPEG may be decoded at and still cover the target square
    (``size``: the part of the image used; ``whole``: the file's, when that is bigger)."""
    width, height = size
    if options.fit == "crop":  # the shorter side must stay >= size
        scale = options.size / min(width, height)
    else:
        scale = options.size / max(width, height)
    width, height = whole or size
    return (max(1, int(width * scale)), max(1, int(height * scale)))


def _to_rgb(image: Any, background: tuple[int, int, int]) -> tuple[Any, bool]:
    """Any Pillow mode → (RGB image, known to be grayscale)."""
    from PIL import Image

    mode = image.mode
    if mode in _SIXTEEN_BIT or mode in ("I", "F"):
        return Image.fromarray(_wide_gray_to_uint8(np.asarray(image), mode), "L").convert(
            "RGB"
        ), True
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    elif mode in ("LA", "La", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        canvas = Image.new("RGBA", image.size, (*background, 255))
        composite = Image.alpha_composite(canvas, image).convert("RGB")
        return composite, mode in ("LA", "La") and len(set(background)) == 1
    if image.mode in ("1", "L"):
        return image.convert("L").convert("RGB"), True
    return image.convert("RGB"), False


def _wide_gray_to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    """16-bit, 32-bit integer or float gray → 8 bits (full-range scaling)."""
    values = values.astype(np.float64)
    if mode == "F":
        top = 1.0 if values.size and values.max() <= 1.0 else 255.0
    else:
        top = 65535.0 if mode in _SIXTEEN_BIT or (values.size and values.max() > 255) else 255.0
    return np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8)


def _fit(image: Any, options: DecodeOptions) -> Any:
    from PIL import Image

    filters = {
        "lanczos": Image.Resampling.LANCZOS,
        "box": Image.Resampling.BOX,
        "bicubic": Image.Resampling.BICUBIC,
    }
    target, (width, height) = options.size, image.size
    if options.fit == "pad" and width != height:
        side = max(width, height)
        canvas = Image.new("RGB", (side, side), options.background)
        canvas.paste(image, ((side - width) // 2, (side - height) // 2))
        image, width, height = canvas, side, side
    box = (0, 0, width, height)
    if options.fit == "crop" and width != height:
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        box = (left, top, left + side, top + side)
    if box == (0, 0, target, target):
        return image  # already the right size: exact pixels
    return image.resize((target, target), filters[options.resample], box=box, reducing_gap=3.0)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
