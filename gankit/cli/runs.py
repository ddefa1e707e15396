"""Commands on a trained run: ``gankit sample``, ``transfer`` and ``evaluate``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gankit._tf import import_tensorflow
from gankit.cli.common import CONTEXT_SETTINGS, data_dir_option, get_host
from gankit.errors import UsageError


@click.command("sample", context_settings=CONTEXT_SETTINGS)
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option("-n", "count", type=click.IntRange(1, 100_000), default=64, help="Number of images.")
@click.option("--seed", type=int, default=0, help="Seed of the noise (and of the test-split conditions).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="PNG grid [default: RUN/sample.png unless --npz is given].")
@click.option("--npz", type=click.Path(dir_okay=False), default=None, help="Write the images (and conditions) as .npz.")
@click.option("--scale", type=click.IntRange(1, 16), default=2, help="Upscale the PNG for viewing.")
@click.option("--best", is_flag=True, help="Use checkpoints/best.npz (kept by train --eval-every).")
@data_dir_option
@click.pass_context
def sample_cmd(ctx: click.Context, run_dir: str, count: int, seed: int, out: str | None,
               npz: str | None, scale: int, best: bool, data_dir: str | None) -> None:
    """Generate images from a run's exported generator (or its latest checkpoint).

    The .npz holds `images` (n, H, W, C) in [-1, 1]; for a conditional run also the
    conditions, drawn from the dataset's test split, and their `label`.

    \b
    Example:
      gankit sample --run runs/R -n 64 --out grid.png --npz samples.npz
    """
    from gankit.eval.sampling import sample
    from gankit.io.files import save_npz
    from gankit.io.images import paired_grid, save_png
    from gankit.run.rundir import RunDir

    import_tensorflow()
    run = RunDir(Path(run_dir))
    arrays = sample(run, get_host(ctx).registry, count, seed, data_dir, best=best)
    if out is None and npz is None:
        out = str(run.path / "sample.png")
    if out is not None:
        conditions = [arrays[c] for c in run.read_config().condition or []]
        save_png(paired_grid(conditions + [arrays["images"]]), out, scale=scale)
        click.echo(f"wrote {out}")
    if npz is not None:
        save_npz(npz, arrays)
        click.echo(f"wrote {npz}")


@click.command("transfer", context_settings=CONTEXT_SETTINGS)
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False), help="Run trained with --condition content,style.")
@click.option("--content", required=True, type=click.Path(dir_okay=False), help="Image of a digit, any size or mode.")
@click.option("--style", required=True, type=click.Path(dir_okay=False), help="Style image, any size or mode.")
@click.option("-o", "--out", default="transfer.png", type=click.Path(dir_okay=False), help="Output PNG.")
@click.option("--scale", type=click.IntRange(1, 32), default=4, help="Upscale the 32x32 output for viewing (1 keeps it 32x32).")
@click.option("--seed", type=int, default=0, help="Seed of the noise z.")
@click.option("--show-inputs", is_flag=True, help="Write content | style | output side by side.")
@click.pass_context
def transfer_cmd(ctx: click.Context, run_dir: str, content: str, style: str, out: str,
                 scale: int, seed: int, show_inputs: bool) -> None:
    """Render a digit image in the style of another image.

    The content becomes a white-on-black 28x28 digit padded to 32x32 (a dark-on-light
    drawing is inverted); the style is centre-cropped and resized to 32x32.

    \b
    Example:
      gankit transfer --run runs/R --content digit.png --style photo.jpg -o out.png
    """
    from gankit.eval.sampling import transfer
    from gankit.io.images import paired_grid, save_png, to_uint8
    from gankit.run.rundir import RunDir

    import_tensorflow()
    result = transfer(RunDir(Path(run_dir)), get_host(ctx).registry, content, style, seed)
    if show_inputs:
        grid = paired_grid([result["content"][None], result["style"][None], result["image"][None]], gap=0)
    else:
        grid = to_uint8(result["image"][None])[0]
    save_png(grid, out, scale=scale)
    click.echo(f"wrote {out}")


@click.command("evaluate", context_settings=CONTEXT_SETTINGS)
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option("--metric", "metrics", multiple=True, metavar="NAME", help="Metric (repeatable; see list-plugins --family metrics) [default: fid].")
@click.option("-n", "count", type=click.IntRange(2, 1_000_000), default=1000, help="Real and generated images compared.")
@click.option("--split", default="test", help="Dataset split of the real images.")
@click.option("--seed", type=int, default=0, help="Seed of the real-image sample and of the noise.")
@click.option("-o", "overrides", multiple=True, metavar="metric.OPTION=VALUE", help="Metric option, e.g. -o metric.extractor=classifier (repeatable).")
@click.option("--weights", type=click.Path(dir_okay=False, exists=True), default=None, help="InceptionV3 weights file (the Keras 'notop' .h5), for offline use.")
@click.option("--best", is_flag=True, help="Evaluate checkpoints/best.npz (kept by train --eval-every) instead of the newest weights.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per metric.")
@data_dir_option
@click.pass_context
def evaluate_cmd(ctx: click.Context, run_dir: str, metrics: tuple[str, ...], count: int, split: str,
                 seed: int, overrides: tuple[str, ...], weights: str | None, best: bool,
                 as_json: bool, data_dir: str | None) -> None:
    """Evaluate a run's newest generator against the dataset's real images.

    Each result is printed and appended, with its protocol (metric, options,
    extractor, split, n, checkpoint step, seed), to RUN/evals.jsonl.

    \b
    Examples:
      gankit evaluate --run runs/R --metric fid --metric kid -o metric.extractor=classifier -n 500
      gankit evaluate --run runs/R --metric content-accuracy --metric style-distance --json
      gankit evaluate --run runs/R --metric fid --weights inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5
    """
    from gankit.eval.evaluator import DEFAULT_METRICS, evaluate_run
    from gankit.run.config import parse_overrides
    from gankit.run.rundir import RunDir

    options = parse_overrides(overrides, allowed=("metric",)).get("metric", {})
    if weights:
        options["weights"] = weights
    run = RunDir(Path(run_dir))
    if not run.exists():
        raise UsageError(f"{run.path} is not a gankit run directory (no config.toml)")
    import_tensorflow()
    records = evaluate_run(
        run, get_host(ctx).registry, metrics or DEFAULT_METRICS, options=options, n=count,
        split=split, seed=seed, data_dir=data_dir, best=best, log=lambda text: click.echo(text, err=True),
    )
    for record in records:
        if as_json:
            click.echo(json.dumps(record))
        else:
            extra = "  ".join(f"{k} {v:.6g}" for k, v in record.items() if k not in ("metric", "value", "protocol", "seconds", "time") and isinstance(v, float))
            p = record["protocol"]
            where = f"{p['split']} n={p['n']} step={p['step']} seed={p['seed']}"
            via = f" [{p['extractor']}]" if "extractor" in p else ""
            click.echo(f"{record['metric']}{via}: {record['value']:.6g}  {extra + '  ' if extra else ''}({where})")
    click.echo(f"appended to {run.path / 'evals.jsonl'}", err=True)


