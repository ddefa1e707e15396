"""Exporting a run's networks, one ``.keras`` per exported role (``generator.keras``):
plain Keras layers, so the file loads with Keras alone."""

from __future__ import annotations

import os
from typing import Any

from gankit.errors import GankitError
from gankit.nn.layers import to_keras
from gankit.run.rundir import RunDir

__all__ = ["export_network"]


def export_network(run: RunDir, stem: str, network: Any) -> None:
    """Write ``<stem>.keras`` (``generator.keras``) to a temporary name and rename it
    into place."""
    target = run.path / f"{stem}.keras"
    tmp = target.with_name(f".{stem}.tmp.keras")
    try:
        to_keras(network).save(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise GankitError(f"cannot write {target}: {exc.strerror or exc}") from None
