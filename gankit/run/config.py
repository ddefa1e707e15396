"""Run configuration: each setting from the highest of its layers, then validation.

The layers, lowest first: gankit's defaults; the training settings the run's
components declare (:class:`gankit.TrainingDefaults`); the run directory's own
``config.toml`` when resuming; a ``--config`` file; the command line. ``config.toml``
records every value and, in its ``[sources]`` table, the layer it came from.

A config file uses the flag names (``batch_size`` or ``batch-size``) at the top level
and one table per component family for options::

    generator = "dcgan"
    steps = 5000

    [options.generator]
    width = 128

``-o generator.width=128`` sets the same option from the command line. Unknown keys
are errors, never ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gankit.errors import ConfigError
from gankit.io.toml import dumps_toml, read_toml_file
from gankit.run.parsing import OPTION_FAMILIES, parse_augment, parse_condition
from gankit.types import UPDATE_RULES, TrainingDefaults

__all__ = [
    "RunConfig",
    "DEFAULT_STEPS",
    "PARTS_DEFAULTS",
    "DEFAULT_BATCH_SIZE",
    "read_config_file",
    "merge_config",
    "STRATEGIES",
    "UPDATES",
    "TRAINING_SETTINGS",
    "GANKIT_TRAINING_DEFAULTS",
]

# Default training length (how long each takes, per CPU: docs/performance.md). The
# style-transfer run reaches the judge's accuracy on real composites at about 1000 steps
# and keeps gaining PSNR to the ground truth; an unconditional step costs half a
# conditional one (no condition encoder), and the unconditional GAN needs the extra
# steps to cover the digit classes.
DEFAULT_STEPS = {True: 3000, False: 6000}  # conditional, unconditional
NO_PENALTY = "none"  # --penalty none: the loss alone
DEFAULT_BATCH_SIZE = 64
# What an unconditional --parts run takes unless told otherwise (docs/performance.md,
# "Legibility"): a moving average of G's weights (the judge's confident share then rises
# steadily instead of swinging 5-10 points between checkpoints), and half the batch for
# twice the steps: the same images, about the same time where a step costs in proportion
# to its batch (a 2-core CPU), and legible samples (>= 80% confident) on both seeds
# measured, where 64 x 6000 gave 77-80%. Other runs keep no average and batch 64.
PARTS_DEFAULTS: dict[str, Any] = {"ema_decay": 0.999, "batch_size": 32, "steps": 12000}

UPDATES = UPDATE_RULES  # how a step updates D and G (gankit.training.stepper)
STRATEGIES = ("auto", "default", "mirrored", "multi-worker")  # see gankit.training.distribute

# The settings a component may declare (None in a RunConfig: not given yet), and the
# values they take when neither the user nor a component gives one.
# A declared loss, generator or discriminator is a component's name: resolve_components.
# A scheme's batch_size, steps and ema_decay: resolve_components, before gankit's
# defaults for them.
# A dataset's scheme: resolve_components, before the scheme's own declarations.
SCHEME_DECLARED = ("generator", "discriminator", "loss", "batch_size", "steps", "ema_decay")
SCHEME_ONLY = (*SCHEME_DECLARED, "scheme")
TRAINING_SETTINGS = tuple(k for k in TrainingDefaults.__dataclass_fields__ if k not in SCHEME_ONLY)
# lr 4e-4 (the DCGAN paper's 2e-4 doubled), by measurement (benchmarks/time_to_quality.py,
# docs/performance.md): it reaches every figure sooner on both tasks.
GANKIT_TRAINING_DEFAULTS = TrainingDefaults(
    lr_g=4e-4, lr_d=4e-4, beta1=0.5, beta2=0.999, d_steps=1, update="alternating", lr_decay=0.0
)
DEFAULT_SOURCE = "gankit default"
DEFAULT_LOGGERS = ("tensorboard",)  # besides jsonl, which every run writes
ALWAYS_LOGGERS = ("jsonl",)


@dataclass
class RunConfig:
    """Everything that defines a training run. ``config.toml`` is this, fully resolved."""

    scheme: str = "gan"  # what one training step does (gankit.scheme)
    generator: str = "dcgan"
    discriminator: str | None = None  # None: the generator's name when such a D exists
    loss: str = "minimax"
    penalty: str = "none"  # a discriminator penalty added to the loss (none: no penalty)
    dataset: str = "mnist-cifar"
    condition: list[str] | None = None  # None: the dataset's default; []: unconditional
    parts: bool | None = (
        # unconditional: G draws the dataset's parts (None: the dataset's choice; gankit.nn.parts)
        None
    )
    steps: int | None = (
        # None: DEFAULT_STEPS by conditioning, PARTS_DEFAULTS with --parts (resolve_components)
        None
    )
    batch_size: int | None = None  # None: DEFAULT_BATCH_SIZE, PARTS_DEFAULTS with --parts
    # training settings: None until resolved (see TRAINING_SETTINGS)
    lr_g: float | None = None
    lr_d: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    latent_dim: int = 100
    d_steps: int | None = None
    update: str | None = None  # "alternating" or "simultaneous"; see gankit.training.stepper
    seed: int = 0
    sample_every: int = 500
    checkpoint_every: int = 500
    log_every: int = 50
    keep_checkpoints: int = 3
    precision: str = "auto"  # see gankit.nn.precision
    jit_compile: str = "auto"
    eval_every: int = 0  # evaluate every N steps (0: never) and keep the best checkpoint
    eval_metric: str = "fid"
    eval_n: int = 1000
    strategy: str = "auto"  # see gankit.training.distribute
    sync_batch_norm: bool = False  # BatchNorm statistics over the global batch
    ema_decay: float | None = (
        # moving average of G's weights for samples and export (0: off; None: PARTS_DEFAULTS with
        # --parts, else 0)
        None
    )
    rotation: float = (
        0.0  # weight of D's rotation self-supervision on its loss (0: off; gankit.nn.rotation)
    )
    lr_decay: float | None = (
        None  # the last share of the run over which both learning rates fall linearly to 0
    )
    augment: str = "none"  # DiffAugment transforms before D: translation,color,cutout
    # experiment loggers (the `loggers` plugin family); jsonl (metrics.jsonl) is always on
    loggers: list[str] = field(default_factory=lambda: list(DEFAULT_LOGGERS))
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # setting -> the layer it came from

    # Keys that change where or how long a run goes, not what it trains: they may
    # differ when resuming.
    RESUMABLE_KEYS = (
        "steps",
        "sample_every",
        "checkpoint_every",
        "log_every",
        "keep_checkpoints",
        "precision",
        "jit_compile",
        "strategy",
        "sync_batch_norm",
        "eval_every",
        "eval_metric",
        "eval_n",
        "loggers",
        "sources",
    )
    # Option families that may differ when resuming (where a run reports, not what it trains).
    RESUMABLE_OPTIONS = ("logger", "metric")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        # As TOML stores them (no None), so a saved config compares equal to its resume.
        data["options"] = {
            k: {o: _plain(v) for o, v in opts.items() if v is not None}
            for k, opts in sorted(self.options.items())
        }
        data["sources"] = {k: self.sources[k] for k in _FIELD_ORDER if k in self.sources}
        return data

    def to_toml(self) -> str:
        return dumps_toml(self.to_dict())

    def dataset_key(self) -> dict[str, Any]:
        """What identifies the run's real data: the dataset's name and options (the
        classifier cache and every evaluation protocol use it)."""
        return {"dataset": self.dataset, "options": self.options.get("dataset", {})}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "config") -> RunConfig:
        return cls(**_normalise(data, source))

    def validate_numbers(self) -> None:
        positive = (
            "steps",
            "batch_size",
            "latent_dim",
            "d_steps",
            "sample_every",
            "checkpoint_every",
            "log_every",
            "keep_checkpoints",
        )
        for key in positive:
            if getattr(self, key) is not None and getattr(self, key) < 1:
                raise ConfigError(
                    f"`{key.replace('_', '-')}` must be at least 1, got {getattr(self, key)}"
                )
        if self.eval_every < 0:
            raise ConfigError(f"`eval-every` must be 0 (off) or positive, got {self.eval_every}")
        if self.ema_decay is not None and not 0 <= self.ema_decay < 1:
            raise ConfigError(
                f"`ema-decay` must be in [0, 1) (0 turns it off), got {self.ema_decay}"
            )
        if not self.rotation >= 0:
            raise ConfigError(f"`rotation` must be 0 (off) or positive, got {self.rotation}")
        if self.lr_decay is not None and not 0 <= self.lr_decay <= 1:
            raise ConfigError(f"`lr-decay` must be in [0, 1] (0 turns it off), got {self.lr_decay}")
        try:
            parse_augment(self.augment)
        except ValueError as exc:
            raise ConfigError(f"`augment`: {exc}") from None
        if self.eval_n < 2:
            raise ConfigError(f"`eval-n` must be at least 2, got {self.eval_n}")
        for key in ("lr_g", "lr_d"):
            if getattr(self, key) is not None and not getattr(self, key) > 0:
                raise ConfigError(
                    f"`{key.replace('_', '-')}` must be positive, got {getattr(self, key)}"
                )
        for key in ("beta1", "beta2"):
            if getattr(self, key) is not None and not 0 <= getattr(self, key) < 1:
                raise ConfigError(f"`{key}` must be in [0, 1), got {getattr(self, key)}")
        from gankit.nn.precision import JIT_CHOICES, PRECISIONS

        for key, choices in (
            ("precision", PRECISIONS),
            ("jit_compile", JIT_CHOICES),
            ("strategy", STRATEGIES),
            ("update", UPDATES),
        ):
            if getattr(self, key) is not None and getattr(self, key) not in choices:
                raise ConfigError(
                    f"`{key.replace('_', '-')}` must be one of {', '.join(choices)}, got "
                    f"{getattr(self, key)!r}"
                )

    def resolve_training(self, declared: Sequence[tuple[str, TrainingDefaults]]) -> None:
        """Fill each training setting not given by a layer: from the first component in
        ``declared`` (``(label, TrainingDefaults)``, most important first) that declares
        it, else gankit's default; record where each came from."""
        for key in TRAINING_SETTINGS:
            if getattr(self, key) is not None:
                continue
            label, value = next(
                ((label, d.declared()[key]) for label, d in declared if key in d.declared()),
                (DEFAULT_SOURCE, getattr(GANKIT_TRAINING_DEFAULTS, key)),
            )
            setattr(self, key, value)
            self.sources[key] = label
        for key in _FIELD_ORDER:
            self.sources.setdefault(key, DEFAULT_SOURCE)
        self.validate_numbers()


_FIELDS = {f.name: f for f in dataclasses.fields(RunConfig)}
_FIELD_ORDER = [name for name in _FIELDS if name not in ("options", "sources")]


def _plain(value: Any) -> Any:
    """An option value as TOML and comparisons see it (a path option as its string)."""
    from pathlib import PurePath

    return str(value) if isinstance(value, PurePath) else value


def _normalise(data: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Check keys and value types of a config mapping; dashes become underscores."""
    out: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = raw_key.replace("-", "_")
        if key not in _FIELDS:
            valid = ", ".join(sorted(k.replace("_", "-") for k in _FIELDS))
            raise ConfigError(f"{source}: unknown key `{raw_key}` (valid keys: {valid})")
        if key == "options":
            out[key] = _normalise_options(value, source)
        elif key == "sources":
            if not isinstance(value, Mapping) or not all(
                isinstance(v, str) for v in value.values()
            ):
                raise ConfigError(f"{source}: `sources` must be a table of strings")
            out[key] = dict(value)
        elif key == "condition":
            out[key] = parse_condition(value)
        elif key == "loggers":
            out[key] = parse_loggers(value, source)
        else:
            out[key] = _check_type(key, value, source)
    return out


def parse_loggers(value: Any, source: str) -> list[str]:
    """Logger names: a list, or a comma-separated string; ``none`` for no optional one."""
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{source}: `loggers` must be a list of logger names")
    names = [n.strip() for n in names if n.strip()]
    return [] if names == ["none"] else list(dict.fromkeys(names))


# fields whose default None means "decided later", and the type they take then
_NULLABLE_TYPES = {
    "parts": bool,
    "steps": int,
    "batch_size": int,
    "ema_decay": float,
    "lr_g": float,
    "lr_d": float,
    "beta1": float,
    "beta2": float,
    "d_steps": int,
    "lr_decay": float,
}


def _check_type(key: str, value: Any, source: str) -> Any:
    default = _FIELDS[key].default
    expected = type(default) if default is not None else _NULLABLE_TYPES.get(key, str)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if value is None and default is None:
        return None
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(f"{source}: `{key}` must be {expected.__name__}, got {value!r}")
    return value


def _normalise_options(value: Any, source: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}: `options` must be a table of families")
    out = {}
    for family, options in value.items():
        if family not in OPTION_FAMILIES:
            raise ConfigError(
                f"{source}: unknown option family `{family}` (valid: {', '.join(OPTION_FAMILIES)})"
            )
        if not isinstance(options, Mapping):
            raise ConfigError(f"{source}: `options.{family}` must be a table")
        out[family] = dict(options)
    _moved_options(out)
    return out


# Options that moved to another family: (old family, option) -> new family. Config
# files and run directories written before the move still read.
MOVED_OPTIONS = {("loss", "l1_weight"): "scheme"}  # pix2pix's L1 became a term of the gan scheme


def _moved_options(options: dict[str, dict[str, Any]]) -> None:
    for (family, option), new in MOVED_OPTIONS.items():
        if option in options.get(family, {}):
            value = options[family].pop(option)
            options.setdefault(new, {}).setdefault(option, value)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A TOML config file as a normalised mapping (not yet merged or validated)."""
    return _normalise(read_toml_file(path, "config file"), str(path))


RUN_DIRECTORY = "run directory"  # the layer whose saved sources are kept


def merge_config(*layers: Mapping[str, Any] | tuple[str, Mapping[str, Any]]) -> RunConfig:
    """Later layers win; ``options`` merge per family and option.

    A layer is a mapping or ``(name, mapping)``; ``config.sources`` records, for every
    key a layer sets, that layer's name ("command line", "config file", ...). The
    ``"run directory"`` layer keeps the sources saved in its ``config.toml``.
    """
    merged: dict[str, Any] = {}
    options: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}
    for layer in layers:
        name, data = layer if isinstance(layer, tuple) else ("config", layer)
        data = _normalise(data, name)
        saved_sources = data.pop("sources", {})
        for family, opts in data.pop("options", {}).items():
            options.setdefault(family, {}).update(opts)
        merged.update(data)
        for key in data:
            sources[key] = saved_sources.get(key, name) if name == RUN_DIRECTORY else name
    config = RunConfig(**merged, options=options, sources=sources)
    config.validate_numbers()
    return config
