"""What ``gankit list-plugins`` shows: JSON rows and a rich table.

Each plugin row: ``name``, ``version``, ``source`` (builtin, entry-point, local),
``via`` (registry.toml, entry point, --plugin, GANKIT_PLUGINS, --registry FILE),
``target`` (the module or file, or the distribution), ``status``, ``error`` and
``components`` by family, each with ``name``, ``summary``, ``options`` (defaults),
``option_types`` and ``training`` (the settings it declares); a scheme also ``roles``
(``{role: family}``, when its factory's return annotation declares them).
"""

from __future__ import annotations

import json
from typing import Any

from gankit.plugin.loader import PluginHost
from gankit.plugin.registry import FAMILIES, SINGULAR, Component

__all__ = ["plugin_rows", "print_plugin_table"]


def plugin_rows(host: PluginHost, family: str | None = None) -> list[dict[str, Any]]:
    """One JSON-ready object per plugin, with exactly the documented keys."""
    families = FAMILIES if family is None else (family,)
    rows = []
    for record in host.records:
        components = {
            f: [_component_row(c) for c in record.components if c.family == f] for f in families
        }
        if family is not None and not components[family] and record.status == "ok":
            continue  # a broken plugin shows under every filter: it may be the one you look for
        rows.append(
            {
                "name": record.name,
                "version": record.version,
                "source": record.source,
                "via": record.via,
                "target": record.target,
                "status": record.status,
                "error": record.error,
                "components": components,
            }
        )
    return rows


def _component_row(component: Component) -> dict[str, Any]:
    row = {
        "name": component.name,
        "summary": component.summary,
        "options": {name: _jsonable(v) for name, v in component.option_defaults().items()},
        "option_types": {o.name: o.type_name() for o in component.options},
        "training": component.training.declared(),
    }
    if component.family == "schemes":
        row["roles"] = declared_roles(component)
    return row


def declared_roles(component: Component) -> dict[str, str]:
    """``{role: family}`` a scheme's factory declares through its return annotation's
    class (``-> GANScheme`` whose ``roles`` is a class attribute), without building it;
    empty when it declares none that way."""
    try:
        roles = getattr(scheme_class(component), "roles", None) or ()
        return {str(r.name): str(r.family) for r in roles}
    except Exception:  # roles that are not gankit.Role: they show once built
        return {}


def scheme_class(component: Component) -> Any:
    """The class a scheme factory's return annotation names (``-> GANScheme``), for what
    it declares before it is built (``roles``, ``requires``); None if it names none."""
    import typing

    try:
        return typing.get_type_hints(component.factory).get("return")
    except Exception:  # an annotation that does not resolve
        return None


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


def print_plugin_table(rows: list[dict[str, Any]], family: str | None = None) -> None:
    """A table with one row per component: its plugin (version, source, status), family,
    name, summary and options (``name: type = default``), wrapped to the terminal; a
    plugin that failed shows its error instead."""
    from rich.console import Console
    from rich.table import Table

    families = FAMILIES if family is None else (family,)
    table = Table(title="gankit plugins", title_justify="left")
    table.add_column("plugin", overflow="fold", max_width=24)
    table.add_column("component", no_wrap=True)
    table.add_column("summary", ratio=3, overflow="fold")
    table.add_column("options", ratio=2, overflow="fold")
    for row in rows:
        plugin = f"[bold]{escape(row['name'])}[/]\n{row['version'] or '-'} {row['source']}"
        if row["status"] != "ok":
            table.add_row(
                plugin + "\n[red]error[/]",
                "-",
                f"[red]{escape(row['error'] or 'failed')}[/]",
                "",
                end_section=True,
            )
            continue
        components = [(f, c) for f in families for c in row["components"][f]]
        for i, (f, component) in enumerate(components):
            table.add_row(
                plugin if i == 0 else "",
                f"{SINGULAR[f]}\n[bold]{escape(component['name'])}[/]",
                _summary(component),
                _options(component),
                end_section=i == len(components) - 1,
            )
        if not components:
            table.add_row(plugin, "-", "", "", end_section=True)
    Console().print(table)


def _summary(component: dict[str, Any]) -> str:
    text = escape(component["summary"] or "")
    if component.get("roles"):
        text += "\n[dim]roles: " + escape(", ".join(component["roles"])) + "[/]"
    if component.get("training"):
        text += (
            "\n[dim]trains with "
            + escape(", ".join(f"{k}={v}" for k, v in component["training"].items()))
            + "[/]"
        )
    return text


def _options(component: dict[str, Any]) -> str:
    types = component.get("option_types", {})
    return "\n".join(
        escape(f"{name}: {types.get(name, 'any')} = {default!r}")
        for name, default in component["options"].items()
    )


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)
