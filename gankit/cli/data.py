"""``gankit dataset-preview`` and ``gankit info``."""

from __future__ import annotations

import json

import click

from gankit._tf import import_tensorflow
from gankit._version import __version__
from gankit.cli.common import CONTEXT_SETTINGS, data_dir_option, get_host
from gankit.errors import UsageError


@click.command("dataset-preview", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.option("-n", "count", type=click.IntRange(1, 4096), default=64, help="Number of examples.")
@click.option("--split", default="train", help="Which split to show (train or test).")
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Sets the dataset's `seed` option (the pairing, for mnist-cifar); for a dataset "
    "without one, shuffles which examples are shown.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="PNG grid to write [default: NAME-SPLIT.png unless --npz is given].",
)
@click.option(
    "--npz",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the raw examples as .npz, one array per element key.",
)
@click.option("--scale", type=click.IntRange(1, 16), default=2, help="Upscale the PNG for viewing.")
@click.option(
    "-o",
    "overrides",
    multiple=True,
    metavar="dataset.OPTION=VALUE",
    help="Dataset option (repeatable).",
)
@data_dir_option
@click.pass_context
def dataset_preview(
    ctx: click.Context,
    name: str,
    count: int,
    split: str,
    seed: int | None,
    out: str | None,
    npz: str | None,
    scale: int,
    overrides: tuple[str, ...],
    data_dir: str | None,
) -> None:
    """Show what a dataset yields: a PNG grid and optionally the raw arrays.

    For datasets with conditions each cell shows the conditions and the image side by
    side (for mnist-cifar: content | style | image). Arrays in the .npz are exactly what
    the trainer sees: images float32 in [-1, 1].

    \b
    Example:
      gankit dataset-preview mnist-cifar -n 64 --out grid.png --npz batch.npz
    """
    import_tensorflow()
    from gankit.io.images import paired_grid, save_png
    from gankit.plugin.building import build_dataset, resolve, take_examples
    from gankit.run.parsing import parse_overrides

    registry = get_host(ctx).registry
    options = parse_overrides(overrides, allowed=("dataset",)).get("dataset", {})
    component, _ = resolve(registry, "datasets", name, options)
    has_seed = any(o.name == "seed" for o in component.options)
    if seed is not None and has_seed:
        options["seed"] = seed
    dataset = build_dataset(registry, name, options, data_dir)
    if split not in dataset.splits:
        raise UsageError(
            f"unknown split '{split}' of dataset '{name}'; available: {', '.join(dataset.splits)}"
        )
    describe = getattr(dataset, "describe", None)
    if callable(describe):
        click.echo(describe())
    examples = take_examples(dataset, split, count, None if has_seed else seed)
    if out is None and npz is None:
        out = f"{name}-{split}.png"
    if out is not None:
        parts = [examples[c] for c in dataset.conditions] + [examples["image"]]
        save_png(paired_grid(parts), out, scale=scale)
        click.echo(f"wrote {out}")
    if npz is not None:
        from gankit.io.files import save_npz

        save_npz(npz, examples)
        click.echo(f"wrote {npz}")


@click.command("info", context_settings=CONTEXT_SETTINGS)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@data_dir_option
def info(as_json: bool, data_dir: str | None) -> None:
    """Versions, devices and where data files are looked for."""
    import platform

    from gankit.types import DataContext

    tf = import_tensorflow()
    import keras

    context = DataContext.from_env(data_dir)
    folders = {"data_dir": context.data_dir, "cache_dir": context.cache_dir}
    report = {
        "gankit": __version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "devices": [f"{d.name} ({d.device_type})" for d in tf.config.list_logical_devices()],
        "downloads": "allowed" if context.allow_download else "disabled (GANKIT_OFFLINE=1)",
        **{
            key: {
                "path": str(folder),
                "files": sorted(p.name for p in folder.iterdir()) if folder.is_dir() else [],
            }
            if folder is not None
            else None
            for key, folder in folders.items()
        },
    }
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for key, value in report.items():
        if isinstance(value, dict):
            files = ", ".join(value["files"]) or "(empty or missing)"
            value = f"{value['path']}: {files}"
        elif isinstance(value, list):
            value = ", ".join(value)
        click.echo(
            f"{key:<10} "
            f"{value if value is not None else '(not set: --data-dir or GANKIT_DATA_DIR)'}"
        )
