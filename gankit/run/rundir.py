"""The run directory: what is in it, and deciding whether to start, resume or refuse.

Layout::

    config.toml          the fully resolved RunConfig
    run.json             versions, seed, devices, parameter counts, status, data source
    .lock                held by the process training the run
    metrics.jsonl        one object per logging step
    samples/step_XXXXXX.png
    checkpoints/step_XXXXXX.npz   (atomic, the last N kept)
    checkpoints/best.npz, best.json   (with --eval-every: the best by --eval-metric)
    evals.jsonl          results of `gankit evaluate` and of --eval-every, with protocol
    tensorboard/         event files
    generator.keras      the exported generator, when training finished
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gankit.errors import GankitError
from gankit.io.files import atomic_write_text, read_jsonl, write_failure
from gankit.io.toml import load_toml
from gankit.run.config import RunConfig

__all__ = ["RunDir", "CHECKPOINT_RE"]

CHECKPOINT_RE = re.compile(r"^step_(\d{6,})\.npz$")


@dataclass(frozen=True)
class RunDir:
    """Paths of one run directory, and the state found in it."""

    path: Path

    @property
    def config_file(self) -> Path:
        return self.path / "config.toml"

    @property
    def run_file(self) -> Path:
        return self.path / "run.json"

    @property
    def metrics_file(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def samples_dir(self) -> Path:
        return self.path / "samples"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / "tensorboard"

    @property
    def generator_file(self) -> Path:
        return self.path / "generator.keras"

    def exists(self) -> bool:
        return self.config_file.is_file()

    def is_unused(self) -> bool:
        """Empty, or only the empty folders :meth:`prepare` makes (a run that failed
        before its first write): safe to start a new run in."""
        skeleton = {self.samples_dir, self.checkpoints_dir, self.tensorboard_dir}
        for child in self.path.iterdir():
            if child == self.lock_file:
                continue
            if child not in skeleton or not child.is_dir() or any(child.iterdir()):
                return False
        return True

    @property
    def lock_file(self) -> Path:
        """Held by the process training the run (:class:`gankit.run.lock.RunLock`)."""
        return self.path / ".lock"

    def data_dir(self, given: str | None, note: Callable[[str], None] | None = None) -> str | None:
        """Where to read the run's dataset: ``given`` (``--data-dir``), else
        ``GANKIT_DATA_DIR``, else the directory the run was trained from (``run.json``'s
        ``data``); if that has gone, ``note`` says so and the dataset's own search
        (cache, download) decides."""
        if given or os.environ.get("GANKIT_DATA_DIR"):
            return given
        recorded = (self.read_run_info().get("data") or {}).get("data_dir")
        if recorded and Path(recorded).is_dir():
            return recorded
        if recorded and note is not None:
            note(
                f"{self.path} was trained with data from {recorded}, which is gone; looking in the "
                "dataset cache (pass --data-dir or set GANKIT_DATA_DIR)"
            )
        return None

    def read_config(self) -> RunConfig:
        try:
            data = load_toml(self.config_file)
            # Runs made before --parts existed drew no parts; `None` would now resolve to
            # the dataset's choice and no longer match their checkpoints.
            data.setdefault("parts", False)
            data.setdefault(
                "ema_decay", 0.0
            )  # likewise: runs made before it kept no moving average
            data.setdefault("lr_decay", 0.0)  # and before it was a setting components declare
            return RunConfig.from_dict(data, str(self.config_file))
        except (OSError, ValueError) as exc:
            raise GankitError(f"cannot read {self.config_file}: {exc}") from None

    def read_run_info(self) -> dict[str, Any]:
        try:
            return json.loads(self.run_file.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise GankitError(f"cannot read {self.run_file}: {exc}") from None

    def write_run_info(self, info: dict[str, Any]) -> None:
        atomic_write_text(self.run_file, json.dumps(info, indent=2) + "\n")

    def read_best(self) -> dict[str, Any] | None:
        """``checkpoints/best.json`` (step, metric, value, higher_is_better), if any."""
        try:
            best = json.loads(self.best_file.read_text())
            return best if self.best_checkpoint.is_file() else None
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise GankitError(f"cannot read {self.best_file}: {exc}") from None

    def checkpoints(self) -> list[tuple[int, Path]]:
        """(step, path) of every complete checkpoint, oldest first."""
        if not self.checkpoints_dir.is_dir():
            return []
        found = []
        for p in self.checkpoints_dir.iterdir():
            m = CHECKPOINT_RE.match(p.name)
            if m:
                found.append((int(m.group(1)), p))
        return sorted(found)

    def latest_checkpoint(self) -> tuple[int, Path] | None:
        checkpoints = self.checkpoints()
        return checkpoints[-1] if checkpoints else None

    @property
    def evals_file(self) -> Path:
        return self.path / "evals.jsonl"

    @property
    def best_checkpoint(self) -> Path:
        """The best checkpoint by the run's ``--eval-metric`` (``best.json`` says which)."""
        return self.checkpoints_dir / "best.npz"

    @property
    def best_file(self) -> Path:
        return self.checkpoints_dir / "best.json"

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints_dir / f"step_{step:06d}.npz"

    def sample_path(self, step: int) -> Path:
        return self.samples_dir / f"step_{step:06d}.png"

    def prepare(self) -> None:
        """Create the folders; an unwritable location is a one-line error."""
        for folder in (self.path, self.samples_dir, self.checkpoints_dir, self.tensorboard_dir):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise write_failure(folder, exc) from None
        atomic_write_text(self.path / ".write-test", "")
        (self.path / ".write-test").unlink(missing_ok=True)

    def truncate_metrics(self, step: int) -> float:
        """Drop metrics after ``step`` (work lost since the checkpoint); return its elapsed_s."""
        records = read_jsonl(self.metrics_file)
        kept = [r for r in records if int(r.get("step", 0)) <= step]
        if len(kept) != len(records) or (
            records and not self.metrics_file.read_text().endswith("\n")
        ):
            atomic_write_text(self.metrics_file, "".join(json.dumps(r) + "\n" for r in kept))
        return float(kept[-1].get("elapsed_s", 0.0)) if kept else 0.0
