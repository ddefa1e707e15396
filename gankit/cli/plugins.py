"""``gankit list-plugins`` and ``gankit new-plugin``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gankit.cli.common import CONTEXT_SETTINGS, get_host
from gankit.plugin.registry import FAMILIES, SINGULAR


@click.command("list-plugins", context_settings=CONTEXT_SETTINGS)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--family",
    type=click.Choice(list(FAMILIES)),
    help="Only plugins that provide components of this family.",
)
@click.pass_context
def list_plugins(ctx: click.Context, as_json: bool, family: str | None) -> None:
    """List installed plugins, where they come from and what they provide.

    Plugins that failed to load are listed with status `error` and their message;
    the command still exits 0.
    """
    from gankit.plugin.listing import plugin_rows, print_plugin_table

    rows = plugin_rows(get_host(ctx), family)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        print_plugin_table(rows, family)


@click.command("new-plugin", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=".", help="Where to create gankit-NAME/.")
@click.option(
    "--family",
    "families",
    multiple=True,
    type=click.Choice(list(SINGULAR.values())),
    help="A component family to include an example of (repeatable) [default: generator and loss].",
)
def new_plugin_cmd(name: str, directory: str, families: tuple[str, ...]) -> None:
    """Create a pip-installable plugin package gankit-NAME with working examples.

    The package (import name gankit_NAME) registers one example component per family
    under the name NAME through the `gankit` entry point, and has tests that run
    gankit.testing's contract checks. An existing directory is never overwritten.

    \b
    Example:
      gankit new-plugin demo --dir plugins-dev --family generator --family loss
      pip install -e plugins-dev/gankit-demo && pytest plugins-dev/gankit-demo
      gankit train --generator demo --loss demo --condition none --steps 5 --batch-size 8
    """
    from gankit.plugin.scaffold import new_plugin

    root = new_plugin(name, Path(directory), list(families))
    click.echo(f"created {root}")
    click.echo(f"next: pip install -e {root} && pytest {root}")


