"""Checkpoints of a run: every variable of its models and optimizers as one ``.npz``."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gankit.errors import GankitError
from gankit.io.files import atomic_write_bytes
from gankit.run.rundir import RunDir

__all__ = [
    "CheckpointStore",
    "model_variables",
    "ema_group",
    "EMA_GROUP",
    "checkpoint_problem",
    "newest_readable",
    "set_aside",
]


def ema_group(role: str) -> str:
    """The checkpoint group of the moving average of ``role``'s trainable weights
    (``--ema-decay``)."""
    return f"{role}/ema"


EMA_GROUP = ema_group("generator")  # the gan scheme's generator


def model_variables(
    models: Mapping[str, Any], optimizers: Mapping[str, Any]
) -> dict[str, list[Any]]:
    """Every variable a checkpoint holds, by group, in a stable order."""
    groups = {f"{name}/weights": list(model.weights) for name, model in models.items()}
    groups.update({f"{name}/optimizer": list(opt.variables) for name, opt in optimizers.items()})
    return groups


class CheckpointStore:
    """Checkpoints as ``.npz`` files of every variable, written atomically, last N kept.

    Each file holds the arrays ``<group>/<index>`` plus ``__step__`` and ``__meta__``
    (JSON: variable paths and shapes), so a restore checks it matches the models before
    assigning anything.
    """

    def __init__(self, run: RunDir, keep: int) -> None:
        self.run, self.keep = run, keep

    def save(self, step: int, groups: Mapping[str, Sequence[Any]]) -> Path:
        """``checkpoints/step_XXXXXX.npz``; older ones beyond the last N are removed."""
        path = self.save_as(self.run.checkpoint_path(step), step, groups)
        for _, old in self.run.checkpoints()[: -self.keep]:
            old.unlink(missing_ok=True)
        return path

    @staticmethod
    def save_as(path: Path, step: int, groups: Mapping[str, Sequence[Any]]) -> Path:
        """Write a checkpoint of ``groups`` at ``step`` to ``path``, atomically."""
        arrays: dict[str, np.ndarray] = {"__step__": np.asarray(step, np.int64)}
        meta = {}
        for group, variables in groups.items():
            meta[group] = [[_var_name(v), list(v.shape)] for v in variables]
            for i, v in enumerate(variables):
                arrays[f"{group}/{i:04d}"] = np.asarray(v.numpy() if hasattr(v, "numpy") else v)
        arrays["__meta__"] = np.asarray(json.dumps(meta))
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return atomic_write_bytes(path, buffer.getvalue())

    @staticmethod
    def groups(path: Path) -> list[str]:
        """The groups a checkpoint file holds."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return list(json.loads(str(data["__meta__"])))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise GankitError(f"checkpoint {path} is corrupt or truncated ({exc})") from None

    @staticmethod
    def load(path: Path, groups: Mapping[str, Sequence[Any]]) -> int:
        """Assign the checkpoint's values to ``groups``' variables; return its step.

        Nothing is assigned unless every group matches in count and shapes.
        """
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["__meta__"]))
                pending = [
                    (v, value)
                    for group, variables in groups.items()
                    for v, value in zip(
                        variables, _group_values(path, data, meta, group, variables)
                    )
                ]
                for v, value in pending:
                    v.assign(value)
                return int(data["__step__"])
        except GankitError:
            raise
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise GankitError(f"checkpoint {path} is corrupt or truncated ({exc})") from None


def _group_values(
    path: Path, data: Any, meta: dict[str, Any], group: str, variables: Sequence[Any]
) -> list[Any]:
    if group not in meta or len(meta[group]) != len(variables):
        raise GankitError(
            f"checkpoint {path} does not match the models ({group}); was it made with another "
            "config?"
        )
    values = [data[f"{group}/{i:04d}"] for i in range(len(variables))]
    for v, value in zip(variables, values):
        if tuple(v.shape) != value.shape:
            raise GankitError(
                f"checkpoint {path}: {_var_name(v)} has shape {value.shape}, the model has "
                f"{tuple(v.shape)}"
            )
    return values


def _var_name(v: Any) -> str:
    return str(getattr(v, "path", None) or getattr(v, "name", "?"))


def checkpoint_problem(path: Path) -> str | None:
    """What makes ``path`` unreadable as a checkpoint (truncated, corrupt, not one), or None.
    Reads every member's CRC: a file cut short anywhere is caught, not just in its index."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                return f"member {bad} is corrupt"
            names = set(archive.namelist())
        if not {"__step__.npy", "__meta__.npy"} <= names:
            return "not a gankit checkpoint (no __step__ / __meta__)"
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def newest_readable(run: RunDir) -> tuple[tuple[int, Path] | None, list[tuple[Path, str]]]:
    """The newest checkpoint of ``run`` that reads whole, and the newer ones that do not
    (path, problem), newest first: a resume falls back past them (as Orbax and Keras's
    ``BackupAndRestore`` do) instead of stopping."""
    bad = []
    for step, path in reversed(run.checkpoints()):
        problem = checkpoint_problem(path)
        if problem is None:
            return (step, path), bad
        bad.append((path, problem))
    return None, bad


def set_aside(path: Path) -> Path:
    """Rename an unreadable checkpoint to ``<name>.corrupt`` (kept, never deleted, and no
    longer taken for a checkpoint); returns the new path."""
    target = path.with_name(path.name + ".corrupt")
    n = 1
    while target.exists():
        target, n = path.with_name(f"{path.name}.corrupt{n}"), n + 1
    path.rename(target)
    return target
