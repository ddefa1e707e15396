"""``gankit train``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gankit.cli.common import CONTEXT_SETTINGS, data_dir_option, get_host
from gankit.nn.precision import JIT_CHOICES, PRECISIONS
from gankit.run.config import (
    GANKIT_TRAINING_DEFAULTS,
    STRATEGIES,
    TRAINING_SETTINGS,
    UPDATES,
    RunConfig,
)

_DEFAULTS = RunConfig()


def _run_option(
    flag: str, type_: Any, help_: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A `train` option whose default lives in RunConfig (None here = not given)."""
    key = flag.lstrip("-").replace("-", "_")
    if key in TRAINING_SETTINGS:
        suffix = (
            f" [default: {getattr(GANKIT_TRAINING_DEFAULTS, key)}, unless the loss, "
            "discriminator or generator declares another (list-plugins shows it)]"
        )
    else:
        default = getattr(_DEFAULTS, key)
        shown = ",".join(default) if isinstance(default, list) else default
        suffix = f" [default: {shown}]" if shown is not None else ""
    return click.option(
        flag, key, type=type_, default=None, show_default=False, help=help_ + suffix
    )


@click.command("train", context_settings=CONTEXT_SETTINGS)
@_run_option(
    "--scheme", str, "Training scheme: what one step trains (see list-plugins --family schemes)."
)
@_run_option("--generator", str, "Generator name (see list-plugins).")
@_run_option(
    "--discriminator",
    str,
    "Discriminator name [default: the generator's name if there is one, else dcgan].",
)
@_run_option("--loss", str, "Loss name (see list-plugins).")
@_run_option(
    "--penalty",
    str,
    "Discriminator penalty added to any loss, e.g. r1 (see list-plugins), or none.",
)
@_run_option("--dataset", str, "Dataset name.")
@click.option(
    "--condition",
    default=None,
    help="Dataset images the models are conditioned on, comma-separated, or `none` for an "
    "unconditional GAN [default: the dataset's choice; content,style for mnist-cifar].",
)
@click.option(
    "--parts/--no-parts",
    "parts",
    default=None,
    help="Unconditional runs: the generator draws the condition images the dataset composes "
    "its image from, and the discriminator sees them beside the image [default: on for "
    "a dataset that declares how it composes (mnist-cifar), else off].",
)
@_run_option(
    "--steps",
    click.IntRange(1),
    "Total training steps (a resumed run continues to this) [default: 3000 for a "
    "conditional run; unconditional 12000 with --parts (batch 32), else 6000; a "
    "translation scheme's own, 1500 for cyclegan, 1250 for fastcut; times per CPU in "
    "docs/performance.md].",
)
@_run_option(
    "--batch-size", click.IntRange(1), "Global batch size [default: 32 with --parts, else 64]."
)
@_run_option("--lr-g", click.FloatRange(0, min_open=True), "Generator learning rate (Adam).")
@_run_option("--lr-d", click.FloatRange(0, min_open=True), "Discriminator learning rate (Adam).")
@_run_option("--beta1", click.FloatRange(0, 1, max_open=True), "Adam beta_1 of both optimizers.")
@_run_option("--beta2", click.FloatRange(0, 1, max_open=True), "Adam beta_2 of both optimizers.")
@_run_option("--latent-dim", click.IntRange(1), "Length of the noise vector z.")
@_run_option(
    "--d-steps",
    click.IntRange(1),
    "Discriminator updates per generator update, each on a fresh real batch and fresh noise.",
)
@_run_option(
    "--update",
    click.Choice(UPDATES),
    "alternating: update D, then G on the same fakes against the updated D (the DCGAN "
    "reference loop); simultaneous: both from one forward pass (TensorFlow's DCGAN "
    "tutorial; one D pass fewer, faster). docs/losses.md says what each loss sees.",
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
@_run_option(
    "--jit-compile", click.Choice(JIT_CHOICES), "XLA-compile the train step; auto: on for GPUs."
)
@_run_option(
    "--eval-every",
    click.IntRange(0),
    "Evaluate every N steps and keep checkpoints/best.npz (0: never).",
)
@_run_option(
    "--eval-metric",
    str,
    "Metric of --eval-every (see list-plugins --family metrics); options: -o metric.K=V.",
)
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
@_run_option(
    "--ema-decay",
    click.FloatRange(0, 1, max_open=True),
    "Keep a moving average of the generator's weights with this decay (e.g. 0.999) for "
    "sample grids, evaluation and generator.keras; 0 turns it off. It warms up as "
    "min(decay, (1+t)/(10+t)) at update t, so 0.999 holds only from about update 9000 on "
    "[default: 0.999 with --parts, else the scheme's (fastcut: 0.999), else 0].",
)
@_run_option(
    "--rotation",
    click.FloatRange(0),
    "Rotation self-supervision (SS-GAN): the discriminator also guesses which quarter "
    "turn a real image was given, with this weight on its loss (0.2 of it on the "
    "generator's fakes); about 1.3x the time a step. The discriminator must have the "
    "head (dcgan and resnet do) [default: 0, off].",
)
@_run_option(
    "--lr-decay",
    click.FloatRange(0, 1),
    "Let both learning rates fall linearly to 0 over this last share of the run (0.5: "
    "the second half); 0 keeps them constant. Training a run further spreads the decay "
    "over the new --steps.",
)
@_run_option(
    "--augment",
    str,
    "DiffAugment before the discriminator, on real and fake alike: a comma-separated "
    "subset of translation,color,cutout, or none.",
)
@click.option(
    "--cpu-devices",
    type=click.IntRange(1, 64),
    default=None,
    help="Testing aid: split the CPU into N logical devices, so --strategy mirrored runs "
    "without GPUs.",
)
@click.option(
    "--logger",
    "loggers",
    multiple=True,
    metavar="NAME",
    help="Experiment logger (repeatable; see list-plugins --family loggers), e.g. --logger "
    "mlflow -o logger.tracking_uri=file:./mlruns; naming any replaces the default, "
    "tensorboard; `none` for only metrics.jsonl, which every run writes [default: "
    "tensorboard].",
)
@click.option(
    "-o",
    "overrides",
    multiple=True,
    metavar="FAMILY.OPTION=VALUE",
    help="Component option, e.g. -o generator.width=128 (repeatable).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML file with the same keys; flags win.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Run directory [default: runs/<dataset>-<generator>-<loss>-<time>].",
)
@data_dir_option
@click.option("--force", is_flag=True, help="Resume even though the config differs from the run's.")
@click.option(
    "--progress/--no-progress",
    "live",
    default=None,
    help="Live progress bar [default: on a terminal].",
)
@click.pass_context
def train(
    ctx: click.Context,
    overrides: tuple[str, ...],
    config_file: str | None,
    out: str | None,
    data_dir: str | None,
    force: bool,
    live: bool | None,
    cpu_devices: int | None,
    **flags: Any,
) -> None:
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
    from gankit.api.training import run_training
    from gankit.run.parsing import parse_overrides
    from gankit.training.distribute import end_multi_worker_process

    get_host(ctx)  # load the plugins the group's options name (gankit.training uses them)
    flags["loggers"] = list(flags["loggers"]) or None
    trainer, result = run_training(
        Path(out) if out else None,
        settings={k: v for k, v in flags.items() if v is not None},
        options=parse_overrides(overrides),
        config_file=config_file,
        callbacks=[],
        live=live,
        data_dir=data_dir,
        force=force,
        cpu_devices=cpu_devices,
        say=lambda text: click.echo(text, err=True),
    )
    from gankit.run.models import exported_roles

    run = trainer.rundir
    files = [str(run.path / f"{r.export}.keras") for r in exported_roles(trainer.models.scheme)]
    exported = f"; exported {', '.join(files)}" if trainer.chief else ""
    click.echo(f"done: step {result.end_step}{exported}")
    end_multi_worker_process(trainer.strategy)
