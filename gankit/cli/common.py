"""What every command shares: one-line errors and exit codes, the plugin host, options."""

from __future__ import annotations

import os
from typing import Any

import click

from gankit.errors import GankitError, TrainingInterrupted, UsageError, describe
from gankit.plugin.loader import PluginHost, load_plugins
from gankit.plugin.session import use_host

__all__ = ["CONTEXT_SETTINGS", "GankitGroup", "get_host", "data_dir_option"]

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "show_default": True}


class GankitGroup(click.Group):
    """A group that turns gankit's errors into one-line messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except GankitError as exc:
            if _debug(ctx):
                raise
            click.echo(f"Error: {exc}", err=True)
            if isinstance(exc, TrainingInterrupted):
                ctx.exit(exc.exit_code)
            ctx.exit(2 if isinstance(exc, UsageError) else 1)
        except Exception as exc:  # a bug: still one line, the traceback with --debug
            if _debug(ctx):
                raise
            click.echo(f"Error: {describe(exc)} (gankit --debug ... shows the traceback)", err=True)
            ctx.exit(1)


def _debug(ctx: click.Context) -> bool:
    obj = ctx.find_object(dict) or {}
    return bool(obj.get("debug")) or os.environ.get("GANKIT_DEBUG", "") not in ("", "0")


def get_host(ctx: click.Context) -> PluginHost:
    """The plugin host for this invocation, loaded once on first use; plugins the user
    named that failed to load are warned about on stderr, one line each."""
    obj = ctx.find_object(dict)
    if "host" not in obj:
        obj["host"] = host = load_plugins(obj["load_options"])
        use_host(host)  # gankit.create() in a plugin sees what this command loaded
        for warning in host.warnings():
            click.echo(f"Warning: {warning}", err=True)
    return obj["host"]


def data_dir_option(command: Any) -> Any:
    """``--data-dir``, where the dataset files are."""
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False),
        default=None,
        help="Folder with the data files [default: $GANKIT_DATA_DIR].",
    )(command)
