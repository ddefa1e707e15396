"""What ``gankit list-plugins`` shows: JSON rows and a rich table."""

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
        "training": component.training.declared(),
    }


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


def print_plugin_table(rows: list[dict[str, Any]], family: str | None = None) -> None:
    """A table: plugin, version, source, status, and its components by family; then errors."""
    from rich.console import Console
    from rich.table import Table

    families = FAMILIES if family is None else (family,)
    table = Table(title="gankit plugins", title_justify="left", show_lines=True)
    for column in ("plugin", "version", "source", "status"):
        table.add_column(column, no_wrap=True)
    table.add_column("components", overflow="fold")
    for row in rows:
        status = "[green]ok[/]" if row["status"] == "ok" else "[red]error[/]"
        lines = [
            f"[bold]{SINGULAR[f]}[/] " + ", ".join(_with_options(c) for c in row["components"][f])
            for f in families
            if row["components"][f]
        ]
        if row["error"]:
            lines.append(f"[red]{escape(row['error'])}[/]")
        table.add_row(row["name"], row["version"] or "-", row["source"], status, "\n".join(lines) or "-")
    Console().print(table)


def _with_options(component: dict[str, Any]) -> str:
    text = component["name"]
    if component["options"]:
        text += " (" + ", ".join(f"{k}={v!r}" for k, v in component["options"].items()) + ")"
    if component.get("training"):
        text += " [trains with " + ", ".join(f"{k}={v}" for k, v in component["training"].items()) + "]"
    return escape(text)


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)
