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
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    default=".",
    help="Where to create gankit-NAME/.",
)
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


@click.command("check", context_settings=CONTEXT_SETTINGS)
@click.argument("target")
@click.option(
    "-o",
    "overrides",
    multiple=True,
    metavar="FAMILY.OPTION=VALUE",
    help="Option for the factories the checks build, e.g. -o dataset.path=photos (repeatable).",
)
@click.pass_context
def check_cmd(ctx: click.Context, target: str, overrides: tuple[str, ...]) -> None:
    """Run the contract kit on every component one plugin registers.

    TARGET is a plugin file (my_loss.py), a package folder, a module name, or an
    installed distribution with `gankit` entry points. The plugin is loaded as
    `gankit train` would load it (the built-ins beside it), the registration rules
    applied, and each component checked (traced, under every precision): one line per
    check; exit 1 if any fails.

    \b
    Examples:
      gankit check ./rahinge.py
      gankit check gankit-sngan
      gankit check gankit_plugins.image_folder -o dataset.path=photos
    """
    from gankit._tf import import_tensorflow
    from gankit.plugin.session import use_host
    from gankit.run.parsing import parse_overrides
    from gankit.testing.plugin_check import check_plugin, load_for_check

    host, names = load_for_check(target)
    use_host(host)
    import_tensorflow()
    failed = 0
    for result in check_plugin(host, names, parse_overrides(overrides) if overrides else {}):
        click.echo(result.line())
        failed += result.status == "FAIL"
    if failed:
        ctx.exit(1)
