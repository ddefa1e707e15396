"""Plugins defined in the running process (``gankit.register_plugin``: a notebook cell's)."""

from __future__ import annotations

from typing import Any

from gankit.errors import PluginError
from gankit.plugin.loader import PluginHost, PluginRecord, _kind, _load_one

__all__ = ["register_in_process"]


def register_in_process(host: PluginHost, plugin: Any, name: str | None = None) -> PluginRecord:
    """Register ``plugin`` (a module, class or object with ``register_*`` hooks: a
    notebook cell's) into ``host``. A plugin of the same name registered this way
    before is replaced (the cell was run again); one of a built-in or installed
    plugin's name is refused. Raises ``PluginError`` for a plugin that does not load."""
    name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    old = next((r for r in host.records if r.name == name), None)
    if old is not None:
        if old.via != "gankit.register_plugin":
            raise PluginError(f"a plugin named '{name}' is already loaded ({_kind(old)})")
        if host.pm.has_plugin(name):
            host.pm.unregister(name=name)
        host.registry.remove_plugin(name)
        host.records.remove(old)
    record = PluginRecord(
        name, None, "local", via="gankit.register_plugin", target=getattr(plugin, "__name__", None)
    )
    _load_one(host, record, lambda: plugin)
    if record.status == "error":
        raise PluginError(record.error or f"plugin '{name}' failed to load")
    host.records.append(record)
    return record
