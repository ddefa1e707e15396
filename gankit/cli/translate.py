"""``gankit translate``: a translation run over the user's picture files."""

from __future__ import annotations

from pathlib import Path

import click

from gankit._tf import import_tensorflow
from gankit.cli.common import CONTEXT_SETTINGS, get_host
from gankit.errors import UsageError

__all__ = ["translate_cmd"]


@click.command("translate", context_settings=CONTEXT_SETTINGS)
@click.option(
    "--run",
    "run_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Run of a translation scheme (cyclegan, cut, fastcut, pix2pix).",
)
@click.option(
    "--input",
    "inputs",
    required=True,
    multiple=True,
    type=click.Path(),
    help="Picture file or folder (repeatable; folders are read recursively).",
)
@click.option(
    "--direction",
    type=click.Choice(["a2b", "b2a"]),
    default="a2b",
    show_default=True,
    help="Domain A to B, or back (cyclegan: both; cut, fastcut, pix2pix: a2b).",
)
@click.option(
    "-o",
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for the translations: one PNG per input, named after it.",
)
@click.pass_context
def translate_cmd(
    ctx: click.Context, run_dir: str, inputs: tuple[str, ...], direction: str, out: str
) -> None:
    """Translate your pictures with a translation run (A to B, or back).

    Each input is decoded as the training folders were (centre square, resized to the
    run's size) and its translation written to OUT as a PNG named after it, a folder's
    subfolders kept. Files that cannot be read are skipped and listed.

    \b
    Examples:
      gankit translate --run runs/horse2zebra --input horses/ -o zebras/
      gankit translate --run runs/h2z --input z1.jpg --input z2.jpg --direction b2a -o h/
    """
    from gankit.data.progress import progress_bar
    from gankit.eval.translate import collect_inputs, translate_files
    from gankit.run.rundir import RunDir

    run = RunDir(Path(run_dir))
    if not run.exists():
        raise UsageError(f"{run.path} is not a gankit run directory (no config.toml)")
    found = collect_inputs(list(inputs))  # the folders are walked once
    import_tensorflow()
    with progress_bar("translating", len(found[0])) as advance:
        registry = get_host(ctx).registry
        result = translate_files(
            run, registry, found, Path(out), direction=direction, advance=advance
        )
    if result.skipped:
        first = ", ".join(f"{p} ({why})" for p, why in result.skipped[:3])
        click.echo(
            f"skipped {len(result.skipped)} files: "
            f"{first}{', ...' if len(result.skipped) > 3 else ''}",
            err=True,
        )
    if not result.written:
        raise UsageError("no input could be translated")
    click.echo(f"wrote {len(result.written)} translations ({direction}) to {out}")
