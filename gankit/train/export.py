"""Exporting a run's generator as ``generator.keras``: plain Keras layers, so the file
loads with Keras alone."""

from __future__ import annotations

import os
from typing import Any

from gankit.errors import GankitError
from gankit.nn.layers import to_keras
from gankit.run.rundir import RunDir

__all__ = ["export_generator"]


def export_generator(run: RunDir, generator: Any) -> None:
    """Write ``generator.keras`` to a temporary name and rename it into place."""
    target = run.generator_file
    tmp = target.with_name(".generator.tmp.keras")
    try:
        to_keras(generator).save(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise GankitError(f"cannot write {target}: {exc.strerror or exc}") from None
