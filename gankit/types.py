"""The objects gankit hands to plugins' factories, losses and metrics.

Plain types: no TensorFlow import, so plugins can be registered and listed cheaply.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gankit.conditions import LABEL, SOURCE

__all__ = [
    "ModelSpec",
    "LossContext",
    "DataContext",
    "EvalContext",
    "LoggerContext",
    "FeatureSource",
    "TrainingDefaults",
    "UPDATE_RULES",
    "LABEL",
]

Shape = tuple[int, ...]
UPDATE_RULES = ("alternating", "simultaneous")  # see gankit.training.stepper


@dataclass(frozen=True)
class ModelSpec:
    """What a generator or discriminator factory must build for.

    Attributes:
        image_shape: ``(H, W, C)`` of the images, H and W powers of two >= 8.
        latent_dim: length of the noise vector ``z`` the generator takes.
        conditions: ``{name: shape}`` of the condition images the models see, in the
            order the run lists them; empty for an unconditional GAN.
        num_classes: for a label-conditional run (``--condition label``) the number of
            classes, and both models take a ``label`` input: int32 of shape ``(B,)``
            with values in ``[0, num_classes)``; 0 otherwise (no ``label`` input). A
            model built for classes must depend on the label: the contract kit fails a
            generator whose images, or a discriminator whose logits, ignore it.
        rotation: for a discriminator, whether it also returns ``rotation_logits``
            ``(B, 4)``, the quarter turn its input was given (``--rotation``;
            ``gankit.nn.rotation``): its output is then ``{"logits", "rotation_logits"}``
            (and ``class_logits`` if it has that head too). A factory that has no such
            head raises ``ValueError`` for it. Always False for a generator.
        translation: for a generator, build an image-to-image **translation** generator
            (the ``cyclegan``, ``cut`` and ``pix2pix`` schemes): its one input is the
            source image, named ``source`` (:data:`gankit.conditions.SOURCE`; its shape
            is ``conditions["source"]``), with no noise; it returns an image of
            ``image_shape`` in [-1, 1], and names the layers of its encoder whose
            outputs feature losses may read ``encoder_0`` (shallowest), ``encoder_1``,
            ... (CUT's PatchNCE). A factory that builds no such generator raises
            ``ValueError`` for it.
    """

    image_shape: Shape
    latent_dim: int = 100
    conditions: Mapping[str, Shape] = field(default_factory=dict)
    num_classes: int = 0
    rotation: bool = False
    translation: bool = False

    def __post_init__(self) -> None:
        if len(self.image_shape) != 3:
            raise ValueError(f"`image_shape` must be (H, W, C), received `{self.image_shape}`.")
        if self.latent_dim < 1:
            raise ValueError(f"`latent_dim` must be positive, received `{self.latent_dim}`.")
        if self.num_classes < 0 or self.num_classes == 1:
            raise ValueError(
                f"`num_classes` must be 0 or at least 2, received `{self.num_classes}`."
            )
        if LABEL in self.conditions:
            raise ValueError("the label is not an image condition: give `num_classes` instead")
        if self.translation and (list(self.conditions) != [SOURCE] or self.num_classes):
            raise ValueError(
                f"a translation generator's spec has one condition, `{SOURCE}`, and no classes"
            )


@dataclass(frozen=True)
class TrainingDefaults:
    """Training settings a component declares, e.g. WGAN-GP's ``lr_g=1e-4, lr_d=1e-4,
    beta1=0.0, beta2=0.9, d_steps=5``. ``None`` leaves a setting to others.

    A run takes each setting from, in order: the command line, the config file, the
    components' declarations (the loss's over the discriminator's over the generator's
    over the scheme's; a scheme or model that names the run's loss comes first),
    gankit's defaults. ``config.toml`` records the value and where it came from.

    Attributes:
        lr_g, lr_d: Adam learning rates of the generator and the discriminator.
        beta1, beta2: Adam's betas, for both optimizers.
        d_steps: discriminator updates per generator update.
        update: the update rule, ``"alternating"`` or ``"simultaneous"``.
        loss: the loss a model is meant to train with (e.g. ``"hinge"`` for SNGAN's
            networks); a run takes it when no layer names ``--loss``. The scheme's
            declaration wins, then the discriminator's, then the generator's.
        lr_decay: the last share of the run over which both learning rates fall
            linearly to 0 (CycleGAN's 0.5).
        generator, discriminator: schemes only: the networks a run of the scheme builds
            when the user names none (``cyclegan``: ``resnet-translator``, ``patchgan``).
        batch_size, steps: schemes only: the run's length and batch when the user gives
            none (a translation scheme's networks cost more a step than DCGAN's).
        ema_decay: schemes only: the moving average of the averaged roles' weights that
            samples and exports use, when the user gives no ``--ema-decay`` (``fastcut``:
            0.999; 0 turns it off).
        scheme: datasets only: the scheme a run on the dataset trains when the user
            names none (``mnist-cifar-unpaired``: ``fastcut``, the default unpaired
            scheme).
    """

    lr_g: float | None = None
    lr_d: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    d_steps: int | None = None
    update: str | None = None
    loss: str | None = None
    lr_decay: float | None = None
    generator: str | None = None
    discriminator: str | None = None
    batch_size: int | None = None
    steps: int | None = None
    ema_decay: float | None = None
    scheme: str | None = None

    def __post_init__(self) -> None:
        for key in ("lr_g", "lr_d"):
            value = getattr(self, key)
            if value is not None and not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"`{key}` must be a positive number, received `{value!r}`.")
        for key in ("beta1", "beta2"):
            value = getattr(self, key)
            if value is not None and not (isinstance(value, (int, float)) and 0 <= value < 1):
                raise ValueError(f"`{key}` must be in [0, 1), received `{value!r}`.")
        for key in ("d_steps", "batch_size", "steps"):
            value = getattr(self, key)
            if value is not None and not (
                isinstance(value, int) and not isinstance(value, bool) and value >= 1
            ):
                raise ValueError(f"`{key}` must be a positive integer, received `{value!r}`.")
        if self.update is not None and self.update not in UPDATE_RULES:
            raise ValueError(
                f"`update` must be one of {', '.join(UPDATE_RULES)}, received `{self.update!r}`."
            )
        for key in ("loss", "generator", "discriminator"):
            value = getattr(self, key)
            if value is not None and not (isinstance(value, str) and value):
                raise ValueError(f"`{key}` must be a component's name, received `{value!r}`.")
        if self.lr_decay is not None and not (
            isinstance(self.lr_decay, (int, float)) and 0 <= self.lr_decay <= 1
        ):
            raise ValueError(f"`lr_decay` must be in [0, 1], received `{self.lr_decay!r}`.")
        if self.ema_decay is not None and not (
            isinstance(self.ema_decay, (int, float)) and 0 <= self.ema_decay < 1
        ):
            raise ValueError(f"`ema_decay` must be in [0, 1), received `{self.ema_decay!r}`.")

    def declared(self) -> dict[str, Any]:
        """The settings given (not None), by name."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


class LossContext:
    """Everything a loss may use for one update (tensors are per-replica batches).

    Attributes:
        real_images, fake_images: ``(B, H, W, C)`` in [-1, 1], float32.
        real_logits, fake_logits: the discriminator's float32 outputs on them, from the
            discriminator as it is at this update (see the update rules in
            ``docs/losses.md``). The trainer computes a logit only when the loss reads
            it: a generator loss that never reads ``real_logits`` costs no forward pass.
        conditions: ``{name: (B, ...)}`` condition tensors (empty if unconditional).
        fake_conditions: what the discriminator sees beside the fakes: ``conditions``,
            except in a run that draws its parts (``--parts``), where the generator drew
            them (``conditions`` then holds the real parts). A penalty that mixes real and
            fake images mixes these too.
        discriminator: the discriminator model, for gradient penalties: call it as
            ``discriminator({"image": x, **conditions}, training=True)``.
        paired: True when ``real_images`` is the ground truth the generator should
            produce for these ``conditions`` (a run given every condition image of a
            dataset whose ``paired`` attribute is true, such as mnist-cifar's content
            and style; not a ``--condition label`` run), so reconstruction
            terms (pix2pix's L1) apply. The real and fake batches then line up
            example by example.
        training: whether this is a training step.
    """

    def __init__(
        self,
        real_images: Any,
        fake_images: Any,
        real_logits: Any,
        fake_logits: Any,
        conditions: Mapping[str, Any] | None = None,
        discriminator: Any = None,
        paired: bool = False,
        training: bool = True,
        fake_conditions: Mapping[str, Any] | None = None,
    ) -> None:
        self.real_images = real_images
        self.fake_images = fake_images
        self._real_logits = real_logits
        self._fake_logits = fake_logits
        self.conditions = dict(conditions or {})
        self.fake_conditions = self.conditions if fake_conditions is None else dict(fake_conditions)
        self.discriminator = discriminator
        self.paired = paired
        self.training = training

    @classmethod
    def lazy(
        cls,
        real_images: Any,
        fake_images: Any,
        real_logits: Callable[[], Any],
        fake_logits: Callable[[], Any],
        **kwargs: Any,
    ) -> LossContext:
        """A context whose logits are computed by the given functions on first read."""
        return cls(real_images, fake_images, _Lazy(real_logits), _Lazy(fake_logits), **kwargs)

    @property
    def real_logits(self) -> Any:
        if isinstance(self._real_logits, _Lazy):
            self._real_logits = self._real_logits.make()
        return self._real_logits

    @property
    def fake_logits(self) -> Any:
        if isinstance(self._fake_logits, _Lazy):
            self._fake_logits = self._fake_logits.make()
        return self._fake_logits

    def __repr__(self) -> str:
        return f"LossContext(conditions={list(self.conditions)}, paired={self.paired})"


class _Lazy:
    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


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
        """``data_dir`` if given, else ``GANKIT_DATA_DIR``; downloads unless
        ``GANKIT_OFFLINE=1``."""
        chosen = data_dir or os.environ.get("GANKIT_DATA_DIR") or None
        offline = os.environ.get("GANKIT_OFFLINE", "") not in ("", "0")
        return cls(Path(chosen).expanduser() if chosen else None, allow_download=not offline)


def _keras_cache_dir() -> Path:
    base = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(base) / "datasets"


class FeatureSource(Protocol):
    """What computes and caches features for an :class:`EvalContext` (the evaluator)."""

    def extractor(self, name: str, *, weights: str | None = None) -> Any: ...

    def features(
        self, ctx: EvalContext, name: str, which: str, *, weights: str | None = None
    ) -> Any: ...


@dataclass(frozen=True)
class LoggerContext:
    """What an experiment logger's factory is given.

    Attributes:
        run_dir: the run directory (``config.toml``, ``metrics.jsonl``, ``samples/``).
        config: the run's resolved config, as ``config.toml`` holds it (a dict; the
            component options under ``options``).
        start_step: the step this process starts from (0, or a resumed checkpoint's).
    """

    run_dir: Path
    config: Mapping[str, Any]
    start_step: int = 0


@dataclass
class EvalContext:
    """What a metric's ``compute(ctx)`` sees.

    Feature extractors are shared and cached across the metrics of one evaluation:
    ``ctx.features(name, which)`` gives ``(n, d)`` float64 features of the ``"real"``
    or ``"fake"`` images by extractor ``"inception"`` or ``"classifier"``;
    ``ctx.classifier()`` gives the dataset classifier itself (``probabilities``,
    ``features``, ``style_maps``).

    Attributes:
        real: ``(n, H, W, C)`` real images of ``split``, in [-1, 1].
        fake: ``(n, H, W, C)`` generated images, in [-1, 1].
        conditions: ``{name: (n, ...)}`` the conditions ``fake`` was generated from —
            those of the real examples, in the same order (empty if unconditional).
        labels: ``(n,)`` the real examples' ``label`` (the content's class for
            mnist-cifar), or None when the dataset has none.
        split, seed: where the real images come from and the seed of the sampling.
    """

    real: Any
    fake: Any
    conditions: Mapping[str, Any]
    labels: Any
    split: str
    seed: int
    source: FeatureSource | None = field(repr=False, default=None)
    fake_features: dict[tuple[str, str | None], Any] = field(repr=False, default_factory=dict)

    def extractor(self, name: str, *, weights: str | None = None) -> Any:
        """A feature extractor (``inception`` or ``classifier``), built once per evaluator."""
        return self._source().extractor(name, weights=weights)

    def features(self, name: str, which: str, *, weights: str | None = None) -> Any:
        """``(n, d)`` features of ``which`` ("real" or "fake") by extractor ``name``, cached."""
        return self._source().features(self, name, which, weights=weights)

    def classifier(self) -> Any:
        """The dataset classifier (``probabilities``, ``features``, ``style_maps``)."""
        return self.extractor("classifier")

    def _source(self) -> FeatureSource:
        if self.source is None:
            raise RuntimeError("this EvalContext has no feature source (make it with an evaluator)")
        return self.source
