"""The plugins of this process, for code that builds components by name: ``gankit.create``
and ``gankit.registered``.

The CLI hands its plugin host over (:func:`use_host`), so a plugin's factory that calls
``gankit.create`` sees exactly what the command loaded (``--plugin`` and registry files
included). Outside the CLI the first call loads the default plugins.
"""

from __future__ import annotations

from typing import Any

from gankit.plugin.loader import PluginHost, load_plugins
from gankit.plugin.registry import Component, family_name

__all__ = ["use_host", "current_host", "create", "registered"]

_host: PluginHost | None = None


def use_host(host: PluginHost | None) -> None:
    """Make ``host`` the plugins :func:`create` and :func:`registered` use (None: reload)."""
    global _host
    _host = host


def current_host() -> PluginHost:
    global _host
    if _host is None:
        _host = load_plugins()
    return _host


def create(family: str, name: str, *args: Any, **options: Any) -> Any:
    """Build the registered component ``name`` of ``family`` as its factory would.

    ``family`` is plural or singular (``"discriminators"`` or ``"discriminator"``);
    ``args`` are what the hook spec passes positionally (a ``gankit.ModelSpec`` for
    models, a ``gankit.DataContext`` for datasets, nothing for losses and metrics);
    ``options`` are validated and coerced as ``-o`` options are. Examples::

        d = gankit.create("discriminators", "dcgan", spec, width=32)
        hinge = gankit.create("losses", "hinge")

    Call it inside your factories, not at import time: it uses the plugins the running
    command loaded.
    """
    return current_host().registry.get(family_name(family), name).create(*args, **options)


def registered(family: str | None = None) -> list[Component]:
    """Every registered component (of ``family``, if given), sorted by family and name.

    Each has ``family``, ``name``, ``plugin``, ``summary``, ``options`` (name, default,
    annotation) and ``training`` (the settings it declares).
    """
    registry = current_host().registry
    return registry.components(None if family is None else family_name(family))
