"""Contract checks of experiment logger components."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gankit.testing.common import require, require_registrable
from gankit.training.callbacks import EVENTS

__all__ = ["check_logger"]


def check_logger(factory: Callable[..., Any], *, options: Mapping[str, Any] | None = None) -> None:
    """Check a logger factory against the contract in ``register_loggers``.

    In a temporary run directory (and working directory, for loggers that write
    beside it): the factory writes nothing; the logger has at least one of the
    callback methods; a whole run's events (begin, two logging steps, a sample grid, a
    checkpoint, an export, the end) and ``close()`` raise nothing.
    """
    from gankit.run.rundir import RunDir
    from gankit.types import LoggerContext

    require_registrable("loggers", factory)
    with tempfile.TemporaryDirectory() as tmp:
        here = os.getcwd()
        os.chdir(tmp)
        try:
            run_dir = Path(tmp) / "run"
            config = {"scheme": "gan", "dataset": "mnist", "options": {"generator": {"width": 8}}}
            logger = factory(LoggerContext(run_dir, config, 0), **dict(options or {}))
            require(
                not run_dir.exists(), "the factory wrote into the run directory (see the contract)"
            )
            require(
                any(callable(getattr(logger, e, None)) for e in EVENTS),
                f"the logger has none of the methods {', '.join(EVENTS)}",
            )
            _drive(logger, RunDir(run_dir))
        finally:
            os.chdir(here)


def _drive(logger: Any, run: Any) -> None:
    run.prepare()
    checkpoint = run.checkpoints_dir / "step_000004.npz"
    np.savez(checkpoint, x=np.zeros(1))
    export = run.path / "generator.keras"
    export.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip: a stand-in export
    grid = np.zeros((64, 96, 3), np.uint8)
    calls = [
        ("on_train_begin", (run,)),
        ("on_step_end", (2, {"step": 2, "d_loss": 1.3, "g_loss": 0.7, "images_per_sec": 50.0})),
        ("on_sample", (2, grid)),
        ("on_step_end", (4, {"step": 4, "d_loss": 1.2, "g_loss": 0.8, "fid": 41.5})),
        ("on_checkpoint", (4, checkpoint)),
        ("on_export", ("generator", export)),
        ("on_train_end", ("finished",)),
    ]
    for event, args in calls:
        method = getattr(logger, event, None)
        if method is None:
            continue
        try:
            method(*args)
        except Exception as exc:
            raise AssertionError(f"{event} raised {type(exc).__name__}: {exc}") from exc
    close = getattr(logger, "close", None)
    if close is not None:
        close()
