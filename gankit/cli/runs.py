"""Commands on a trained run: ``gankit sample``, ``transfer`` and ``evaluate``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gankit._tf import import_tensorflow
from gankit.cli.common import CONTEXT_SETTINGS, data_dir_option, get_host
from gankit.conditions import LABEL
from gankit.errors import UsageError


@click.command("sample", context_settings=CONTEXT_SETTINGS)
@click.option(
    "--run", "run_dir", required=True, type=click.Path(file_okay=False), help="Run directory."
)
@click.option("-n", "count", type=click.IntRange(1, 100_000), default=64, help="Number of images.")
@click.option(
    "--seed", type=int, default=0, help="Seed of the noise (and of the test-split conditions)."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="PNG grid [default: RUN/sample.png unless --npz is given].",
)
@click.option(
    "--npz",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the images (and conditions) as .npz.",
)
@click.option("--scale", type=click.IntRange(1, 16), default=2, help="Upscale the PNG for viewing.")
@click.option("--best", is_flag=True, help="Use checkpoints/best.npz (kept by train --eval-every).")
@click.option(
    "--class",
    "classes",
    metavar="CLASS",
    default=None,
    help="Run trained with --condition label: images of one class (index or name), or `all` "
    "for one row per class [default: the classes in turn].",
)
@data_dir_option
@click.pass_context
def sample_cmd(
    ctx: click.Context,
    run_dir: str,
    count: int,
    seed: int,
    out: str | None,
    npz: str | None,
    scale: int,
    best: bool,
    classes: str | None,
    data_dir: str | None,
) -> None:
    """Generate images from a run's exported generator (or its latest checkpoint).

    The .npz holds `images` (n, H, W, C) in [-1, 1]; for a conditional run also the
    conditions, drawn from the dataset's test split, and their `label`; for a run
    conditioned on the label alone, the `label` of each image.

    \b
    Examples:
      gankit sample --run runs/R -n 64 --out grid.png --npz samples.npz
      gankit sample --run runs/digits --class 7 -n 64
      gankit sample --run runs/digits --class all -n 80   # 8 of each class, one row each
    """
    from gankit.eval.sampling import sample
    from gankit.io.files import save_npz
    from gankit.io.images import class_grid, paired_grid, save_png
    from gankit.run.rundir import RunDir

    import_tensorflow()
    run = RunDir(Path(run_dir))
    data_dir = run.data_dir(data_dir, note=_note) if run.exists() else data_dir
    arrays = sample(run, get_host(ctx).registry, count, seed, data_dir, best=best, classes=classes)
    if out is None and npz is None:
        out = str(run.path / "sample.png")
    if out is not None:
        if classes == "all":
            names = run.read_run_info()["class_names"]
            save_png(class_grid(arrays["images"], names, scale=scale), out)
        else:
            conditions = [arrays[c] for c in run.read_config().condition or [] if c != LABEL]
            save_png(paired_grid(conditions + [arrays["images"]]), out, scale=scale)
        click.echo(f"wrote {out}")
    if npz is not None:
        save_npz(npz, arrays)
        click.echo(f"wrote {npz}")


@click.command("transfer", context_settings=CONTEXT_SETTINGS)
@click.option(
    "--run",
    "run_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Run trained with --condition content,style.",
)
@click.option(
    "--content",
    "contents",
    required=True,
    multiple=True,
    type=click.Path(),
    help="Image of a digit (any size or mode), or a directory of them (repeatable).",
)
@click.option(
    "--style",
    "styles",
    required=True,
    multiple=True,
    type=click.Path(),
    help="Style image, or a directory of them (repeatable).",
)
@click.option(
    "--pairs",
    type=click.Choice(["all", "zip"]),
    default="all",
    help="all: every content with every style; zip: the i-th content with the i-th style.",
)
@click.option(
    "-o",
    "--out",
    default=None,
    type=click.Path(),
    help="Output PNG for one pair, else a directory for one PNG per pair "
    "[default: transfer.png for one pair, transfer/ for several].",
)
@click.option(
    "--grid",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write every pair as content | style | output in one grid PNG.",
)
@click.option(
    "--scale",
    type=click.IntRange(1, 32),
    default=4,
    help="Upscale the 32x32 output for viewing (1 keeps it 32x32).",
)
@click.option("--seed", type=int, default=0, help="Seed of the noise z (one vector per pair).")
@click.option(
    "--show-inputs", is_flag=True, help="Write content | style | output side by side in each PNG."
)
@click.pass_context
def transfer_cmd(
    ctx: click.Context,
    run_dir: str,
    contents: tuple[str, ...],
    styles: tuple[str, ...],
    pairs: str,
    out: str | None,
    grid: str | None,
    scale: int,
    seed: int,
    show_inputs: bool,
) -> None:
    """Render digit images in the style of other images, all in one process.

    The content becomes a white-on-black 28x28 digit padded to 32x32 (a dark-on-light
    drawing is inverted); the style is centre-cropped and resized to 32x32. Several
    pairs are written as CONTENT--STYLE.png into the output directory.

    \b
    Examples:
      gankit transfer --run runs/R --content digit.png --style photo.jpg -o out.png
      gankit transfer --run runs/R --content a.png --content b.png --style s.jpg -o out/
      gankit transfer --run runs/R --content d/ --style s/ --pairs zip -o out/ --grid all.png
    """
    from gankit.eval.sampling import image_files, pair_up, transfer
    from gankit.io.images import paired_grid, save_png
    from gankit.run.rundir import RunDir

    matched = pair_up(
        image_files(list(contents), "content"), image_files(list(styles), "style"), pairs
    )
    import_tensorflow()
    result = transfer(RunDir(Path(run_dir)), get_host(ctx).registry, matched, seed)
    targets = _transfer_targets(matched, out)
    for i, target in enumerate(targets):
        parts = [result["content"][i : i + 1], result["style"][i : i + 1]] if show_inputs else []
        save_png(paired_grid([*parts, result["images"][i : i + 1]], gap=0), target, scale=scale)
    click.echo(
        f"wrote {targets[0]}"
        if len(targets) == 1
        else f"wrote {len(targets)} images to {targets[0].parent}"
    )
    if grid is not None:
        save_png(
            paired_grid([result["content"], result["style"], result["images"]]), grid, scale=scale
        )
        click.echo(f"wrote {grid}")


def _transfer_targets(pairs: list[tuple[Path, Path]], out: str | None) -> list[Path]:
    """One PNG path per pair: ``out`` itself for a single pair given as a .png, else
    ``out/CONTENT--STYLE.png`` (numbered when two pairs share their names)."""
    if len(pairs) == 1 and (out is None or Path(out).suffix.lower() == ".png"):
        return [Path(out or "transfer.png")]
    folder = Path(out or "transfer")
    if folder.suffix.lower() == ".png":
        raise UsageError(f"-o {out}: {len(pairs)} pairs need a directory, not a .png file")
    names = [f"{c.stem}--{s.stem}" for c, s in pairs]
    repeated = {n for n in names if names.count(n) > 1}
    return [folder / (f"{n}-{i}.png" if n in repeated else f"{n}.png") for i, n in enumerate(names)]


@click.command("evaluate", context_settings=CONTEXT_SETTINGS)
@click.option(
    "--run", "run_dir", required=True, type=click.Path(file_okay=False), help="Run directory."
)
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    metavar="NAME",
    help="Metric (repeatable; see list-plugins --family metrics) [default: fid].",
)
@click.option(
    "-n",
    "count",
    type=click.IntRange(2, 1_000_000),
    default=1000,
    help="Real and generated images compared.",
)
@click.option("--split", default="test", help="Dataset split of the real images.")
@click.option("--seed", type=int, default=0, help="Seed of the real-image sample and of the noise.")
@click.option(
    "-o",
    "overrides",
    multiple=True,
    metavar="metric.OPTION=VALUE",
    help="Metric option, e.g. -o metric.extractor=classifier (repeatable).",
)
@click.option(
    "--weights",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="InceptionV3 weights file (the Keras 'notop' .h5), for offline use.",
)
@click.option(
    "--best",
    is_flag=True,
    help="Evaluate checkpoints/best.npz (kept by train --eval-every) instead of the newest "
    "weights.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per metric.")
@data_dir_option
@click.pass_context
def evaluate_cmd(
    ctx: click.Context,
    run_dir: str,
    metrics: tuple[str, ...],
    count: int,
    split: str,
    seed: int,
    overrides: tuple[str, ...],
    weights: str | None,
    best: bool,
    as_json: bool,
    data_dir: str | None,
) -> None:
    """Evaluate a run's newest generator against the dataset's real images.

    A translation run is scored per direction: a2b translates the split's domain A
    images and compares them with its domain B images, b2a the other way (each
    direction with features of its target domain).

    Each result is printed and appended, with its protocol (metric, options,
    extractor, split, n, checkpoint step, seed), to RUN/evals.jsonl.

    \b
    Examples:
      gankit evaluate --run runs/R --metric fid --metric kid -o metric.extractor=classifier -n 500
      gankit evaluate --run runs/R --metric content-accuracy --metric style-distance --json
      gankit evaluate --run runs/R --metric fid --weights inception_notop.h5
    """
    from gankit.eval.evaluator import DEFAULT_METRICS
    from gankit.eval.runs import evaluate_run
    from gankit.run.parsing import parse_overrides
    from gankit.run.rundir import RunDir

    options = parse_overrides(overrides, allowed=("metric",)).get("metric", {})
    if weights:
        options["weights"] = weights
    run = RunDir(Path(run_dir))
    if not run.exists():
        raise UsageError(f"{run.path} is not a gankit run directory (no config.toml)")
    data_dir = run.data_dir(data_dir, note=_note)
    import_tensorflow()
    records = evaluate_run(
        run,
        get_host(ctx).registry,
        metrics or DEFAULT_METRICS,
        options=options,
        n=count,
        split=split,
        seed=seed,
        data_dir=data_dir,
        best=best,
        log=lambda text: click.echo(text, err=True),
    )
    for record in records:
        click.echo(json.dumps(record) if as_json else _result_line(record))
    click.echo(f"appended to {run.path / 'evals.jsonl'}", err=True)


def _result_line(record: dict) -> str:
    """One evaluation result as a line: metric, value, other figures, protocol."""
    skip = ("metric", "value", "protocol", "seconds", "time")
    extra = "  ".join(
        f"{k} {v:.6g}" for k, v in record.items() if k not in skip and isinstance(v, float)
    )
    p = record["protocol"]
    where = f"{p['split']} n={p['n']} step={p['step']} seed={p['seed']}"
    via = f" [{p['extractor']}]" if "extractor" in p else ""
    way = f" {p['direction']}" if "direction" in p else ""
    figures = f"{record['value']:.6g}  {extra + '  ' if extra else ''}"
    return f"{record['metric']}{way}{via}: {figures}({where})"


def _note(text: str) -> None:
    click.echo(f"Note: {text}", err=True)
