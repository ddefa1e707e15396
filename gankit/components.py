"""The objects gankit hands to component factories and losses.

They carry no TensorFlow import, so plugins can be registered (and listed) cheaply.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ModelSpec", "LossContext", "DataContext"]

Shape = tuple[int, ...]


@dataclass(frozen=True)
class ModelSpec:
    """What a generator or discriminator factory must build for.

    Attributes:
        image_shape: ``(H, W, C)`` of the images, H and W powers of two >= 8.
        latent_dim: length of the noise vector ``z`` the generator takes.
        conditions: ``{name: shape}`` of the condition images the models see, in the
            order the run lists them; empty for an unconditional GAN.
    """

    image_shape: Shape
    latent_dim: int = 100
    conditions: Mapping[str, Shape] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.image_shape) != 3:
            raise ValueError(f"`image_shape` must be (H, W, C), received `{self.image_shape}`.")
        if self.latent_dim < 1:
            raise ValueError(f"`latent_dim` must be positive, received `{self.latent_dim}`.")


@dataclass
class LossContext:
    """Everything a loss may use for one step (tensors are per-replica batches).

    Attributes:
        real_images, fake_images: ``(B, H, W, C)`` in [-1, 1].
        real_logits, fake_logits: the discriminator's outputs on them.
        conditions: ``{name: (B, ...)}`` condition tensors (empty if unconditional).
        discriminator: the discriminator model, for gradient penalties.
        paired: True when ``real_images`` is the ground truth the generator should
            produce for these ``conditions`` (a conditional run on a dataset whose
            ``paired`` attribute is true, such as mnist-cifar), so reconstruction
            terms (pix2pix's L1) apply. The real and fake batches then line up
            example by example.
        training: whether this is a training step.
    """

    real_images: Any
    fake_images: Any
    real_logits: Any
    fake_logits: Any
    conditions: Mapping[str, Any] = field(default_factory=dict)
    discriminator: Any = None
    paired: bool = False
    training: bool = True


@dataclass(frozen=True)
class DataContext:
    """Where a dataset factory looks for its files.

    Attributes:
        data_dir: the directory from ``--data-dir`` or ``GANKIT_DATA_DIR``, if any.
        cache_dir: the download cache (Keras's ``~/.keras/datasets`` by default).
        allow_download: whether a missing file may be downloaded.
    """

    data_dir: Path | None = None
    cache_dir: Path = field(default_factory=lambda: _keras_cache_dir())
    allow_download: bool = True

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None) -> DataContext:
        """``data_dir`` if given, else ``GANKIT_DATA_DIR``; downloads unless ``GANKIT_OFFLINE=1``."""
        chosen = data_dir or os.environ.get("GANKIT_DATA_DIR") or None
        offline = os.environ.get("GANKIT_OFFLINE", "") not in ("", "0")
        return cls(Path(chosen).expanduser() if chosen else None, allow_download=not offline)


def _keras_cache_dir() -> Path:
    base = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(base) / "datasets"
