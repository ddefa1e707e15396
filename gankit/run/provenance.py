"""Which plugins a run was trained with and where they came from, so that a command
on the run that cannot find one of its components says how to load it again.

``run.json`` keeps ``plugins`` (``{plugin: version}``) and ``plugin_sources``
(``{plugin: {source, via, target, components}}``, ``components`` as ``"family/name"``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from gankit.errors import UnknownComponentError
from gankit.plugin.loader import PluginRecord, reload_advice
from gankit.plugin.registry import SINGULAR, Registry
from gankit.run.config import NO_PENALTY, RunConfig
from gankit.run.rundir import RunDir

__all__ = ["plugins_used", "plugin_source_hint"]


def plugins_used(
    config: RunConfig, registry: Registry, records: Iterable[PluginRecord]
) -> dict[str, dict[str, Any]]:
    """``{plugin: {version, source, via, target, components}}`` of the plugins that
    provide the config's components (its metric included)."""
    by_name = {r.name: r for r in records}
    used: dict[str, dict[str, Any]] = {}
    for family, name in _components_of(config):
        plugin = registry.get(family, name).plugin
        record = by_name.get(plugin)
        entry = used.setdefault(
            plugin,
            {
                "version": record.version if record else None,
                **(record.origin() if record else {}),
                "components": [],
            },
        )
        entry["components"].append(f"{family}/{name}")
    return used


def _components_of(config: RunConfig) -> list[tuple[str, str]]:
    pairs = [
        ("schemes", config.scheme),
        ("generators", config.generator),
        ("discriminators", config.discriminator),
        ("losses", config.loss),
        ("penalties", config.penalty),
        ("datasets", config.dataset),
    ]
    if config.eval_every:
        pairs.append(("metrics", config.eval_metric))
    return [(f, n) for f, n in pairs if n and not (f == "penalties" and n == NO_PENALTY)]


@contextlib.contextmanager
def plugin_source_hint(run: RunDir) -> Iterator[None]:
    """Re-raise an unknown component of the run with where its plugin came from:
    ``unknown loss 'rahinge' ...; run R was trained with it from plugin 'rahinge'
    (--plugin /abs/rahinge.py): pass --plugin /abs/rahinge.py again``."""
    try:
        yield
    except UnknownComponentError as exc:
        hint = _hint(run, exc.family, exc.name)
        if hint is None:
            raise
        raise UnknownComponentError(f"{exc}; {hint}", exc.family, exc.name) from None


def _hint(run: RunDir, family: str, name: str) -> str | None:
    if not family or not run.run_file.is_file():
        return None
    sources = run.read_run_info().get("plugin_sources") or {}
    for plugin, origin in sources.items():
        if isinstance(origin, dict) and f"{family}/{name}" in origin.get("components", ()):
            return (
                f"{run.path} was trained with {SINGULAR[family]} '{name}' from plugin '{plugin}' "
                f"(loaded by {origin.get('via', 'an unknown source')}): {reload_advice(origin)}"
            )
    return None
