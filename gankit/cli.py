"""gankit's command line: click commands only.

Each command parses its arguments, calls the core and prints. ``GankitError`` becomes
one line ``Error: ...`` on stderr — exit 2 for usage mistakes, 1 for runtime failures —
and a traceback only with ``--debug`` or ``GANKIT_DEBUG=1``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gankit import __version__
from gankit._tf import import_tensorflow
from gankit.config import UPDATES, RunConfig
from gankit.distribute import STRATEGIES
from gankit.errors import GankitError, TrainingInterrupted, UsageError
from gankit.performance import JIT_CHOICES, PRECISIONS
from gankit.plugins import LoadOptions, PluginHost, load_plugins
from gankit.registry import FAMILIES, SINGULAR

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "show_default": True}


class GankitGroup(click.Group):
    """A group that turns gankit's errors into one-line messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GankitError as exc:
            if _debug(ctx):
                raise
            click.echo(f"Error: {exc}", err=True)
            if isinstance(exc, TrainingInterrupted):
                ctx.exit(exc.exit_code)
            ctx.exit(2 if isinstance(exc, UsageError) else 1)


def _debug(ctx: click.Context) -> bool:
    obj = ctx.find_object(dict) or {}
    return bool(obj.get("debug")) or os.environ.get("GANKIT_DEBUG", "") not in ("", "0")


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


def get_host(ctx: click.Context) -> PluginHost:
    """The plugin host for this invocation, loaded once on first use."""
    obj = ctx.find_object(dict)
    if "host" not in obj:
        obj["host"] = load_plugins(obj["load_options"])
    return obj["host"]


@cli.command("list-plugins", context_settings=CONTEXT_SETTINGS)
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
    from gankit.listing import plugin_rows, print_plugin_table

    rows = plugin_rows(get_host(ctx), family)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        print_plugin_table(rows, family)


@cli.command("dataset-preview", context_settings=CONTEXT_SETTINGS)
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
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="PNG grid to write [default: NAME-SPLIT.png unless --npz is given].")
@click.option("--npz", type=click.Path(dir_okay=False), default=None, help="Also write the raw examples as .npz, one array per element key.")
@click.option("--scale", type=click.IntRange(1, 16), default=2, help="Upscale the PNG for viewing.")
@click.option("-o", "overrides", multiple=True, metavar="dataset.OPTION=VALUE", help="Dataset option (repeatable).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Folder with the data files [default: $GANKIT_DATA_DIR].")
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
    from gankit.build import build_dataset, resolve, take_examples
    from gankit.config import parse_overrides
    from gankit.images import paired_grid, save_png

    registry = get_host(ctx).registry
    options = parse_overrides(overrides, allowed=("dataset",)).get("dataset", {})
    component, _ = resolve(registry, "datasets", name, options)
    has_seed = any(o.name == "seed" for o in component.options)
    if seed is not None and has_seed:
        options["seed"] = seed
    dataset = build_dataset(registry, name, options, data_dir)
    if split not in dataset.splits:
        raise UsageError(f"unknown split '{split}' of dataset '{name}'; available: {', '.join(dataset.splits)}")
    examples = take_examples(dataset, split, count, None if has_seed else seed)
    if out is None and npz is None:
        out = f"{name}-{split}.png"
    if out is not None:
        parts = [examples[c] for c in dataset.conditions] + [examples["image"]]
        save_png(paired_grid(parts), out, scale=scale)
        click.echo(f"wrote {out}")
    if npz is not None:
        from gankit.runfiles import save_npz

        save_npz(npz, examples)
        click.echo(f"wrote {npz}")


_DEFAULTS = RunConfig()


def _run_option(flag: str, type_: Any, help_: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A `train` option whose default lives in RunConfig (None here = not given)."""
    key = flag.lstrip("-").replace("-", "_")
    default = getattr(_DEFAULTS, key)
    shown = ",".join(default) if isinstance(default, list) else default
    suffix = f" [default: {shown}]" if shown is not None else ""
    return click.option(flag, key, type=type_, default=None, show_default=False, help=help_ + suffix)


@cli.command("train", context_settings=CONTEXT_SETTINGS)
@_run_option("--generator", str, "Generator name (see list-plugins).")
@_run_option("--discriminator", str, "Discriminator name [default: the generator's name if there is one, else dcgan].")
@_run_option("--loss", str, "Loss name.")
@_run_option("--dataset", str, "Dataset name.")
@click.option(
    "--condition",
    default=None,
    help="Dataset images the models are conditioned on, comma-separated, or `none` for an "
    "unconditional GAN [default: the dataset's choice; content,style for mnist-cifar].",
)
@_run_option(
    "--steps",
    click.IntRange(1),
    "Total training steps (a resumed run continues to this) [default: 3000 for a "
    "conditional run, 6000 unconditional; about 13-14 minutes each on a 2-core CPU with AMX].",
)
@_run_option("--batch-size", click.IntRange(1), "Global batch size.")
@_run_option("--lr-g", click.FloatRange(0, min_open=True), "Generator learning rate (Adam).")
@_run_option("--lr-d", click.FloatRange(0, min_open=True), "Discriminator learning rate (Adam).")
@_run_option("--beta1", click.FloatRange(0, 1, max_open=True), "Adam beta_1 of both optimizers.")
@_run_option("--latent-dim", click.IntRange(1), "Length of the noise vector z.")
@_run_option("--d-steps", click.IntRange(1), "Discriminator updates per generator update.")
@_run_option(
    "--update",
    click.Choice(UPDATES),
    "alternating: update D on the step's fakes, then G on the same fakes against the "
    "updated D (the DCGAN reference loop); simultaneous: both from one forward pass "
    "(TensorFlow's DCGAN tutorial; one D pass fewer, faster).",
)
@_run_option("--seed", int, "Seed of weights, noise, data order and sample grids.")
@_run_option("--sample-every", click.IntRange(1), "Write a sample grid every N steps.")
@_run_option("--checkpoint-every", click.IntRange(1), "Write a checkpoint every N steps.")
@_run_option("--log-every", click.IntRange(1), "Log metrics every N steps.")
@_run_option("--keep-checkpoints", click.IntRange(1), "How many checkpoints to keep.")
@_run_option(
    "--precision",
    click.Choice(PRECISIONS),
    "Compute precision; auto: mixed_float16 on a GPU, mixed_bfloat16 on a CPU with native "
    "bfloat16 (AMX / AVX512-BF16), else float32.",
)
@_run_option("--jit-compile", click.Choice(JIT_CHOICES), "XLA-compile the train step; auto: on for GPUs.")
@_run_option("--eval-every", click.IntRange(0), "Evaluate every N steps and keep checkpoints/best.npz (0: never).")
@_run_option("--eval-metric", str, "Metric of --eval-every (see list-plugins --family metrics); options: -o metric.K=V.")
@_run_option("--eval-n", click.IntRange(2), "Images compared by --eval-every (test split).")
@_run_option(
    "--strategy",
    click.Choice(STRATEGIES),
    "tf.distribute strategy; auto: mirrored over all GPUs when there are several, else "
    "one device; multi-worker reads the cluster from TF_CONFIG (docs/distributed.md).",
)
@click.option(
    "--sync-batch-norm/--no-sync-batch-norm",
    "sync_batch_norm",
    default=None,
    help="BatchNorm statistics over the global batch instead of each replica's slice "
    "[default: per replica].",
)
@click.option(
    "--cpu-devices",
    type=click.IntRange(1, 64),
    default=None,
    help="Testing aid: split the CPU into N logical devices, so --strategy mirrored runs "
    "without GPUs.",
)
@click.option("-o", "overrides", multiple=True, metavar="FAMILY.OPTION=VALUE", help="Component option, e.g. -o generator.width=128 (repeatable).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None, help="TOML file with the same keys; flags win.")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Run directory [default: runs/<dataset>-<generator>-<loss>-<time>].")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Folder with the data files [default: $GANKIT_DATA_DIR].")
@click.option("--force", is_flag=True, help="Resume even though the config differs from the run's.")
@click.option("--progress/--no-progress", "live", default=None, help="Live progress bar [default: on a terminal].")
@click.pass_context
def train(ctx: click.Context, overrides: tuple[str, ...], config_file: str | None, out: str | None,
          data_dir: str | None, force: bool, live: bool | None, cpu_devices: int | None,
          **flags: Any) -> None:
    """Train a GAN from registered components, or resume a run directory.

    Everything is validated before a model is built. Re-running on the same --out
    continues from its latest checkpoint (e.g. with a larger --steps).

    \b
    Examples:
      gankit train --generator dcgan --loss minimax
      gankit train --condition none --steps 2000 --out runs/uncond
      gankit train --out runs/uncond --steps 4000      # resume to 4000
      gankit train -o generator.width=32 -o loss.label_smoothing=0.1
    """
    from gankit.config import merge_config, parse_condition, parse_overrides, read_config_file
    from gankit.distribute import is_chief, make_strategy
    from gankit.rundir import RunDir
    from gankit.trainer import Trainer, plugin_versions_for, prepare_run

    host = get_host(ctx)
    explicit = {k: v for k, v in flags.items() if v is not None}
    if "condition" in explicit:
        explicit["condition"] = parse_condition(explicit["condition"])
    if overrides:
        explicit["options"] = parse_overrides(overrides)
    from_file = read_config_file(config_file) if config_file else {}
    run = RunDir(Path(out)) if out else None
    base: dict[str, Any] = {}
    if run is not None and run.exists():
        base = run.read_config().to_dict()
    config = merge_config(base, from_file, explicit)
    if run is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run = RunDir(Path("runs") / f"{config.dataset}-{config.generator}-{config.loss}-{stamp}")
    config, dataset, start = prepare_run(run, config, host.registry, data_dir=data_dir, force=force)
    import_tensorflow()
    strategy = make_strategy(config.strategy, cpu_devices=cpu_devices)
    versions = {r.name: r.version for r in host.records}
    trainer = Trainer(config, host.registry, dataset, run,
                      plugin_versions=plugin_versions_for(config, host.registry, versions),
                      strategy=strategy, live_progress=live)
    if is_chief(strategy):
        run.prepare()  # an unwritable --out fails here, before anything is announced
    role = "" if is_chief(strategy) else " (a non-chief worker: the chief writes the run directory)"
    if start:
        click.echo(f"resuming {run.path} from step {start}{role}", err=True)
    else:
        click.echo(f"training into {run.path}{role}", err=True)
    result = trainer.run(start)
    if trainer.chief:
        click.echo(f"done: step {result.end_step}; generator at {run.generator_file}")
    else:
        click.echo(f"done: step {result.end_step}")


@cli.command("sample", context_settings=CONTEXT_SETTINGS)
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option("-n", "count", type=click.IntRange(1, 100_000), default=64, help="Number of images.")
@click.option("--seed", type=int, default=0, help="Seed of the noise (and of the test-split conditions).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="PNG grid [default: RUN/sample.png unless --npz is given].")
@click.option("--npz", type=click.Path(dir_okay=False), default=None, help="Write the images (and conditions) as .npz.")
@click.option("--scale", type=click.IntRange(1, 16), default=2, help="Upscale the PNG for viewing.")
@click.option("--best", is_flag=True, help="Use checkpoints/best.npz (kept by train --eval-every).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Folder with the data files [default: $GANKIT_DATA_DIR].")
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
    from gankit.generate import sample
    from gankit.images import paired_grid, save_png
    from gankit.rundir import RunDir
    from gankit.runfiles import save_npz

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


@cli.command("transfer", context_settings=CONTEXT_SETTINGS)
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
    from gankit.generate import transfer
    from gankit.images import paired_grid, save_png, to_uint8
    from gankit.rundir import RunDir

    import_tensorflow()
    result = transfer(RunDir(Path(run_dir)), get_host(ctx).registry, content, style, seed)
    if show_inputs:
        grid = paired_grid([result["content"][None], result["style"][None], result["image"][None]], gap=0)
    else:
        grid = to_uint8(result["image"][None])[0]
    save_png(grid, out, scale=scale)
    click.echo(f"wrote {out}")


@cli.command("evaluate", context_settings=CONTEXT_SETTINGS)
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option("--metric", "metrics", multiple=True, metavar="NAME", help="Metric (repeatable; see list-plugins --family metrics) [default: fid].")
@click.option("-n", "count", type=click.IntRange(2, 1_000_000), default=1000, help="Real and generated images compared.")
@click.option("--split", default="test", help="Dataset split of the real images.")
@click.option("--seed", type=int, default=0, help="Seed of the real-image sample and of the noise.")
@click.option("-o", "overrides", multiple=True, metavar="metric.OPTION=VALUE", help="Metric option, e.g. -o metric.extractor=classifier (repeatable).")
@click.option("--weights", type=click.Path(dir_okay=False, exists=True), default=None, help="InceptionV3 weights file (the Keras 'notop' .h5), for offline use.")
@click.option("--best", is_flag=True, help="Evaluate checkpoints/best.npz (kept by train --eval-every) instead of the newest weights.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per metric.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Folder with the data files [default: $GANKIT_DATA_DIR].")
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
    from gankit.config import parse_overrides
    from gankit.evaluation import DEFAULT_METRICS, evaluate_run
    from gankit.rundir import RunDir

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


@cli.command("new-plugin", context_settings=CONTEXT_SETTINGS)
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
    from gankit.scaffold import new_plugin

    root = new_plugin(name, Path(directory), list(families))
    click.echo(f"created {root}")
    click.echo(f"next: pip install -e {root} && pytest {root}")


@cli.command("info", context_settings=CONTEXT_SETTINGS)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Folder with the data files [default: $GANKIT_DATA_DIR].")
def info(as_json: bool, data_dir: str | None) -> None:
    """Versions, devices and where data files are looked for."""
    import platform

    from gankit.components import DataContext

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
            key: {"path": str(folder), "files": sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []}
            if folder is not None else None
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
        click.echo(f"{key:<10} {value if value is not None else '(not set: --data-dir or GANKIT_DATA_DIR)'}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="gankit")


if __name__ == "__main__":  # pragma: no cover
    main()
