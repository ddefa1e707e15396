"""What ``gankit list-plugins`` shows: JSON rows and a rich table."""

from __future__ import annotations

import json
from typing import Any

from gankit.plugins import PluginHost
from gankit.registry import FAMILIES, Component

__all__ = ["plugin_rows", "print_plugin_table"]


def plugin_rows(host: PluginHost, family: str | None = None) -> list[dict[str, Any]]:
    """One JSON-ready object per plugin, with exactly the documented keys."""
    families = FAMILIES if family is None else (family,)
    rows = []
    for record in host.records:
        components = {
            f: [_component_row(c) for c in record.components if c.family == f] for f in families
        }
        if family is not None and not components[family]:
            continue
        rows.append(
            {
                "name": record.name,
                "version": record.version,
                "source": record.source,
                "status": record.status,
                "error": record.error,
                "components": components,
            }
        )
    return rows


def _component_row(component: Component) -> dict[str, Any]:
    return {
        "name": component.name,
        "summary": component.summary,
        "options": {name: _jsonable(v) for name, v in component.option_defaults().items()},
    }


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


def print_plugin_table(rows: list[dict[str, Any]], family: str | None = None) -> None:
    """A table: plugin, version, source, status, components per family; then errors."""
    from rich.console import Console
    from rich.table import Table

    families = FAMILIES if family is None else (family,)
    table = Table(title="gankit plugins", title_justify="left")
    for column in ("plugin", "version", "source", "status", *families):
        table.add_column(column, overflow="fold")
    for row in rows:
        status = "[green]ok[/]" if row["status"] == "ok" else "[red]error[/]"
        cells = [", ".join(_with_options(c) for c in row["components"][f]) for f in families]
        table.add_row(row["name"], row["version"] or "-", row["source"], status, *cells)
    console = Console()
    console.print(table)
    for row in rows:
        if row["error"]:
            console.print(f"[red]{row['name']}[/]: {row['error']}", markup=True, highlight=False)


def _with_options(component: dict[str, Any]) -> str:
    options = component["options"]
    if not options:
        return component["name"]
    inner = ", ".join(f"{k}={v!r}" for k, v in options.items())
    return f"{component['name']} ({inner})"
