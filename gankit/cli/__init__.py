"""gankit's command line: click commands only, one module per group of commands.

Each command parses its arguments, calls the core and prints. ``GankitError`` becomes
one line ``Error: ...`` on stderr — exit 2 for usage mistakes, 1 for runtime failures —
and a traceback only with ``--debug`` or ``GANKIT_DEBUG=1``.
"""

from __future__ import annotations

import os

import click

from gankit._version import __version__
from gankit.cli.common import CONTEXT_SETTINGS, GankitGroup, get_host
from gankit.cli.data import dataset_preview, info
from gankit.cli.plugins import check_cmd, list_plugins, new_plugin_cmd
from gankit.cli.runs import evaluate_cmd, sample_cmd, transfer_cmd
from gankit.cli.train import train
from gankit.cli.translate import translate_cmd
from gankit.plugin.loader import LoadOptions

__all__ = ["cli", "main"]


@click.group(cls=GankitGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="gankit")
@click.option(
    "--plugin",
    "plugins",
    multiple=True,
    metavar="MODULE_OR_FILE.py",
    help="Load a local plugin (repeatable). Also: GANKIT_PLUGINS=a,b.",
)
@click.option(
    "--registry",
    "registries",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Load the plugins listed in a registry file (same format as registry.toml).",
)
@click.option(
    "--disable-plugin",
    "disabled",
    multiple=True,
    metavar="NAME",
    help="Do not load the plugin NAME (repeatable).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks. Also: GANKIT_DEBUG=1.")
@click.pass_context
def cli(
    ctx: click.Context,
    plugins: tuple[str, ...],
    registries: tuple[str, ...],
    disabled: tuple[str, ...],
    debug: bool,
) -> None:
    """gankit: train GANs from pluggable generators, discriminators, losses and datasets.

    \b
    Examples:
      gankit train --generator dcgan --loss minimax
      gankit list-plugins
      gankit --plugin ./myplugin.py list-plugins
    """
    ctx.ensure_object(dict)
    ctx.obj.update(
        load_options=LoadOptions(plugins=plugins, registries=registries, disabled=disabled),
        debug=debug,
    )
    if plugins or registries or os.environ.get("GANKIT_PLUGINS", "").strip():
        get_host(ctx)  # plugins the user named: every command warns if they fail to load


for command in (
    list_plugins,
    check_cmd,
    dataset_preview,
    train,
    sample_cmd,
    transfer_cmd,
    translate_cmd,
    evaluate_cmd,
    new_plugin_cmd,
    info,
):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="gankit")


if __name__ == "__main__":  # pragma: no cover
    main()
