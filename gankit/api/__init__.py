"""gankit from Python and notebooks: :func:`train`, :class:`Run`, :func:`register_plugin`.

``gankit train``, ``sample``, ``transfer``, ``translate`` and ``evaluate`` call the same
functions (``gankit.api.training.run_training`` and the ones :class:`Run` names).
"""

from __future__ import annotations

from typing import Any

from gankit.api.run import Run
from gankit.api.training import train

__all__ = ["train", "Run", "register_plugin"]


def register_plugin(plugin: Any, name: str | None = None) -> list[Any]:
    """Register a plugin defined in this process (a notebook cell's module, class or
    object with ``@gankit.hookimpl`` ``register_*`` functions) beside the loaded ones,
    for ``gankit.training`` and ``gankit.create``. Running the cell again replaces it.
    Returns its components; a plugin that breaks a rule raises ``gankit.PluginError``
    with the one line ``gankit list-plugins`` would show."""
    from gankit.plugin.in_process import register_in_process
    from gankit.plugin.session import current_host

    return list(register_in_process(current_host(), plugin, name).components)
