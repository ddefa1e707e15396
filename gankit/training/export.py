"""Exporting a run's networks, one ``.keras`` per exported role (``generator.keras``):
plain Keras layers, so the file loads with Keras alone, and a ``gankit.json`` entry
saying what its inputs mean (:mod:`gankit.io.keras_info`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gankit.conditions import input_meanings
from gankit.errors import GankitError
from gankit.io.keras_info import add_export_info
from gankit.nn.conditioning import input_shapes
from gankit.nn.layers import to_keras
from gankit.run.rundir import RunDir

__all__ = ["export_network", "export_info"]


def export_network(run: RunDir, stem: str, network: Any, info: dict[str, Any]) -> Path:
    """Write ``<stem>.keras`` (``generator.keras``) to a temporary name and rename it
    into place; return its path. ``info`` (run, scheme, role, step, ``class_names``) goes into its
    ``gankit.json`` beside the meaning of each input."""
    target = run.path / f"{stem}.keras"
    tmp = target.with_name(f".{stem}.tmp.keras")
    try:
        model = to_keras(network)
        model.save(tmp)
        meanings = input_meanings(input_shapes(model), info.get("class_names", ()))
        add_export_info(
            tmp,
            {
                **info,
                "inputs": meanings,
                "output": "image: float32 (B, H, W, C), pixels in [-1, 1]",
            },
        )
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise GankitError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


def export_info(config: Any, facts: dict[str, Any], role: str, step: int) -> dict[str, Any]:
    """What an exported network's ``gankit.json`` says besides its inputs' meanings
    (``facts``: the run's ``run.json`` facts, for the class names)."""
    from gankit._version import __version__

    return {
        "gankit_version": __version__,
        "scheme": config.scheme,
        "role": role,
        "step": step,
        "dataset": config.dataset,
        "conditions": list(config.condition or []),
        "class_names": facts.get("class_names", []),
    }
