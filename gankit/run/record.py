"""``run.json``'s one writer: what a run is, set once, and its status as it trains.

Fields (older runs may lack the newer ones; readers use ``.get``):

- versions (``gankit``, ``tensorflow``, ``keras``, ``python``), ``plugins`` and
  ``plugin_sources``, ``seed``, ``devices``, ``strategy``, ``replicas``, ``precision``,
  ``jit_compile``, ``data`` (where the data was read from);
- ``status`` (``running``, ``finished``, ``interrupted``, ``failed``), ``step`` (the
  last checkpoint), ``error`` (a failed run's), ``exported_step`` (a finished run's),
  ``created_at``, ``updated_at``;
- once the networks are built: ``scheme``, ``parameters`` per role (and the ``gan``
  scheme's ``generator_params`` / ``discriminator_params``), ``roles`` (each role's
  family, component and :class:`~gankit.types.ModelSpec`, so a role loads back without
  the dataset), ``class_names`` for a label-conditional run.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict
from typing import Any

import numpy as np

from gankit.run.rundir import RunDir
from gankit.types import ModelSpec

__all__ = [
    "RunRecord",
    "model_facts",
    "spec_record",
    "spec_from_record",
    "translation_roles",
    "refuse_translation_run",
]

STATUSES = ("running", "finished", "interrupted", "failed")


class RunRecord:
    """Writes ``run.json`` for one training process: ``facts`` are merged into what
    the file already holds (a resumed run keeps its ``created_at``); each status call
    rewrites the file atomically."""

    def __init__(self, run: RunDir, facts: dict[str, Any]) -> None:
        self.run = run
        self.facts = dict(facts)

    def add(self, facts: dict[str, Any]) -> None:
        """More facts, known once the networks are built."""
        self.facts.update(facts)

    def write(self, status: str, step: int, **extra: Any) -> None:
        """Record ``status`` at ``step`` (``error=...`` for ``failed``, ``exported_step``
        for ``finished``)."""
        if status not in STATUSES:
            raise ValueError(f"unknown run status {status!r}")
        info = self.run.read_run_info()
        info.pop("error", None)
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        info.update({**self.facts, "status": status, "step": step, "updated_at": now, **extra})
        info.setdefault("created_at", now)
        self.run.write_run_info(info)


def process_facts(
    plugins: dict[str, dict[str, Any]],
    strategy: Any,
    *,
    seed: int,
    precision: str,
    jit_compile: bool,
    data_source: dict[str, Any] | None,
    class_names: tuple[str, ...] = (),
) -> dict[str, Any]:
    """What ``run.json`` says about a training process: versions, plugins and where they
    came from, devices, strategy, precision, the data's source, a label-conditional
    run's class names (for ``sample --class``)."""
    import platform

    import keras
    import tensorflow as tf

    from gankit._version import __version__

    facts = {
        "gankit": __version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "plugins": {p: e.get("version") for p, e in plugins.items()},
        "plugin_sources": {
            p: {k: v for k, v in e.items() if k != "version"} for p, e in plugins.items()
        },
        "seed": seed,
        "devices": [d.name for d in tf.config.list_logical_devices()],
        "strategy": type(strategy).__name__,
        "replicas": int(strategy.num_replicas_in_sync),
        "precision": precision,
        "jit_compile": jit_compile,
        **({"data": data_source} if data_source else {}),
    }
    if class_names:
        facts["class_names"] = list(class_names)
    return facts


def model_facts(models: Any, scheme: str) -> dict[str, Any]:
    """What ``run.json`` says of a run's built networks (a :class:`gankit.run.models.Models`):
    each role's family, component and spec (so it loads back without the dataset) and
    its count of trainable weights."""
    facts: dict[str, Any] = {"scheme": scheme, "roles": {}, "parameters": {}}
    for role in models.scheme.roles:
        variables = models.nets[role.name].trainable_variables
        facts["parameters"][role.name] = int(sum(int(np.prod(v.shape)) for v in variables))
        spec = models.role_specs.get(role.name)
        facts["roles"][role.name] = {
            "family": role.family,
            "builder": role.builder,
            "component": models.components[role.builder].name,
            "export": role.export,
            "spec": spec_record(spec) if spec is not None else None,
            "parts": role.family == "generators"
            and role.spec is None
            and models.drawing is not None,
        }
    for role in ("generator", "discriminator"):  # the gan scheme's, as run.json always had them
        if role in facts["parameters"]:
            facts[f"{role}_params"] = facts["parameters"][role]
    return facts


def spec_record(spec: ModelSpec) -> dict[str, Any]:
    """``spec`` as plain JSON."""
    record = asdict(spec)
    record["image_shape"] = list(spec.image_shape)
    record["conditions"] = {k: list(v) for k, v in spec.conditions.items()}
    return record


def spec_from_record(record: dict[str, Any]) -> ModelSpec:
    """The :class:`ModelSpec` :func:`spec_record` wrote."""
    return ModelSpec(
        tuple(record["image_shape"]),
        int(record["latent_dim"]),
        {k: tuple(v) for k, v in record.get("conditions", {}).items()},
        int(record.get("num_classes", 0)),
        bool(record.get("rotation", False)),
        bool(record.get("translation", False)),
    )


def translation_roles(info: dict[str, Any]) -> list[str]:
    """The roles of a run (its ``run.json``) that are translation generators."""
    return [
        name for name, r in info.get("roles", {}).items() if r.get("spec", {}).get("translation")
    ]


def refuse_translation_run(run: RunDir, command: str) -> None:
    """``command`` draws from noise: a translation run gets one line pointing to
    ``gankit translate`` instead."""
    from gankit.errors import UsageError

    info = run.read_run_info()
    if translation_roles(info):
        raise UsageError(
            f"{run.path} is a translation run (scheme {info.get('scheme')}), which {command} "
            "cannot "
            f"use; translate pictures with: gankit translate --run {run.path} --input PATH -o OUT"
        )
