"""Training throughput, like for like: gankit against what a user writes unaided.

    python benchmarks/throughput.py [--rounds 7] [--steps 60] [--batch 64]

One harness times every contender the same way: N training steps (wall clock, the
device synchronised at the end), after warm-up (tracing and compilation excluded),
rounds interleaved (A B C ... A B C ...), and the ratio to each reference taken per
round, then the median over rounds. All contenders train the unconditional DCGAN at
32x32 (gankit's architecture; the references with Keras's own layers and Adam) on
mnist-cifar composites at the same batch, its generator ending as the tutorial's does,
in a transposed convolution to the image (:data:`TO_IMAGE`). gankit's unconditional
defaults draw the digit and the style image as parts (``--parts``) and end the
generator in a 3x3 convolution (``to_image=auto``); to time the same network as the
references, every gankit contender here trains with ``--no-parts -o
generator.to_image=transposed`` (:data:`SAME_NETWORK`).

References: TensorFlow's DCGAN tutorial loop in float32 and with ``mixed_bfloat16``
(the best a user reaches unaided on a CPU with native bfloat16), and the Keras guide's
``fit()`` GAN in both precisions (``benchmarks/peers.py``); on a CPU without native
bfloat16 (or under ``ONEDNN_MAX_CPU_ISA=AVX2``, which approximates one) only their
float32 forms, the best there. gankit: its defaults and
``--precision float32``, each through the harness (its chunk of steps in one
``tf.function``, as ``gankit train`` runs it) and once through the CLI (images/s from
its own ``metrics.jsonl``), plus its fast paths switched off
(``GANKIT_FAST_PATHS=off``) to show what they add on this CPU. ``--also
update=simultaneous jit_compile=on,fast_paths=off ...`` adds gankit contenders with
other run settings to the same interleaved rounds (how docs/performance.md tried
every option on one CPU kind).

Needs GANKIT_DATA_DIR and a quiet machine. Prints the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from gankit._tf import import_tensorflow  # noqa: E402

tf = import_tensorflow()

from peers import FitGAN, TutorialLoop, best_precision, peer_precisions  # noqa: E402
from time_to_quality import machine  # noqa: E402

from gankit.plugin.loader import load_plugins  # noqa: E402
from gankit.run.config import merge_config  # noqa: E402
from gankit.run.resolve import resolve_components  # noqa: E402
from gankit.run.rundir import RunDir  # noqa: E402
from gankit.training.trainer import Trainer  # noqa: E402

# The tutorial's generator ends in a transposed convolution straight to the image: the
# peers are built with it (``TO_IMAGE``), gankit's contenders with SAME_NETWORK, its
# settings that make its network the references' (tests/test_benchmarks.py checks that
# the two build the same networks).
TO_IMAGE = "transposed"
SAME_NETWORK: dict[str, Any] = {"parts": False, "options": {"generator": {"to_image": TO_IMAGE}}}
SAME_NETWORK_FLAGS = ("--no-parts", "-o", f"generator.to_image={TO_IMAGE}")


class GankitHarness:
    """gankit's trainer, timed by the harness: ``run(n)`` is one call of its compiled
    chunk of ``n`` steps, as ``gankit train`` makes between two logging events. By
    default the unconditional network of the references (:data:`SAME_NETWORK`); with
    ``task="transfer"`` the default style-transfer run."""

    def __init__(
        self, batch: int, overrides: dict[str, Any], work: Path, *, task: str = "unconditional"
    ) -> None:
        registry = load_plugins().registry
        task_settings = {"condition": "none", **SAME_NETWORK} if task == "unconditional" else {}
        config = merge_config({"batch_size": batch, "steps": 10**9, **task_settings, **overrides})
        resolved = resolve_components(config, registry)
        self.trainer = Trainer(config, registry, resolved, RunDir(work), live_progress=False)
        self.trainer._build()
        self.steps_per_epoch, self.step, self.epoch = self.trainer._steps_per_epoch(), 0, 0
        self.iterator = self.trainer._iterator(0, 0)
        self.run(2)

    def run(self, steps: int) -> None:
        if (
            self.step + steps > (self.epoch + 1) * self.steps_per_epoch
        ):  # a fresh epoch, untimed parts aside
            self.epoch += 1
            self.step = self.epoch * self.steps_per_epoch
            self.iterator = self.trainer._iterator(self.epoch, 0)
        sums, _ = self.trainer._train_chunk(self.iterator, tf.constant(steps, tf.int64))
        float(sums[0])
        self.step += steps


def cli_images_per_sec(batch: int, steps: int, *extra: str) -> float:
    """Median images/s of ``gankit train``'s own logging windows (the first excluded)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "gankit",
                "train",
                "--condition",
                "none",
                "--steps",
                str(steps),
                "--batch-size",
                str(batch),
                "--log-every",
                "25",
                "--out",
                str(out),
                *SAME_NETWORK_FLAGS,
                *extra,
            ],
            check=True,
            capture_output=True,
        )
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return statistics.median(r["images_per_sec"] for r in rows[1:])


def references() -> tuple[str, ...]:
    """The peers every ratio is taken against: the float32 tutorial loop, and each peer
    in the fastest precision it has here."""
    best = best_precision()
    return tuple(
        dict.fromkeys(
            ("tutorial loop, float32", f"tutorial loop, {best}", f"Keras fit() GAN, {best}")
        )
    )


def harness(
    batch: int, settings: dict[str, Any], work: Path, *, task: str = "unconditional"
) -> GankitHarness:
    """A gankit contender with run ``settings`` (:class:`GankitHarness`); ``fast_paths``
    (on/off/auto) sets ``GANKIT_FAST_PATHS`` while its layers are traced."""
    settings = dict(settings)
    choice = settings.pop("fast_paths", None)
    previous = os.environ.get("GANKIT_FAST_PATHS")
    if choice is not None:
        os.environ["GANKIT_FAST_PATHS"] = str(choice)
    try:
        return GankitHarness(batch, settings, work, task=task)
    finally:
        if previous is None:
            os.environ.pop("GANKIT_FAST_PATHS", None)
        else:
            os.environ["GANKIT_FAST_PATHS"] = previous


def parse_settings(text: str) -> dict[str, Any]:
    """``update=simultaneous,jit_compile=on`` as run settings (numbers parsed)."""
    out: dict[str, Any] = {}
    for pair in filter(None, text.split(",")):
        key, _, value = pair.partition("=")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value.strip()
    return out


def contenders(batch: int, work: Path, also: list[str] = ()) -> dict[str, Any]:
    made: dict[str, Any] = {}
    for peer, label in ((TutorialLoop, "tutorial loop"), (FitGAN, "Keras fit() GAN")):
        for precision in peer_precisions():
            made[f"{label}, {precision}"] = peer(precision, batch, to_image=TO_IMAGE)
    made |= {
        "gankit defaults": GankitHarness(batch, {}, work / "a"),
        "gankit --precision float32": GankitHarness(batch, {"precision": "float32"}, work / "b"),
        # the tutorial's update rule (one D pass fewer, G and D backward in parallel)
        "gankit --update simultaneous": GankitHarness(
            batch, {"update": "simultaneous"}, work / "d"
        ),
        "gankit float32 --update simultaneous": GankitHarness(
            batch, {"precision": "float32", "update": "simultaneous"}, work / "e"
        ),
    }
    made["gankit defaults, fast paths off"] = harness(batch, {"fast_paths": "off"}, work / "c")
    for index, text in enumerate(also):
        made[f"gankit {text}"] = harness(batch, parse_settings(text), work / f"also{index}")
    return made


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=60, help="timed steps per contender per round")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--cli-steps", type=int, default=400)
    parser.add_argument(
        "--also",
        nargs="*",
        default=[],
        metavar="SETTINGS",
        help="more gankit contenders, each run settings as key=value,... (fast_paths=on|off "
        "sets GANKIT_FAST_PATHS); e.g. jit_compile=on update=simultaneous,precision=float32",
    )
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI's own figures")
    args = parser.parse_args()
    refs = references()
    short = {
        "tutorial loop, float32": "tutorial f32",
        "tutorial loop, mixed_bfloat16": "tutorial bf16",
        "Keras fit() GAN, float32": "fit() f32",
        "Keras fit() GAN, mixed_bfloat16": "fit() bf16",
    }
    with tempfile.TemporaryDirectory() as tmp:
        made = contenders(args.batch, Path(tmp), args.also)
        rates: dict[str, list[float]] = {name: [] for name in made}
        for r in range(args.rounds):
            for name, contender in made.items():
                start = time.perf_counter()
                contender.run(args.steps)
                rates[name].append(args.steps * args.batch / (time.perf_counter() - start))
            print(
                f"round {r + 1}/{args.rounds}: "
                + ", ".join(f"{n} {v[-1]:.0f}" for n, v in rates.items()),
                flush=True,
            )
    print(
        f"\n{machine()}; batch {args.batch}; {args.rounds} interleaved rounds of {args.steps} "
        "steps; "
        "ratios are medians of per-round ratios\n"
    )
    header = f"{'contender':<40} {'img/s':>7}  " + "  ".join(
        f"{'vs ' + short[ref]:>16}" for ref in refs
    )
    print(header)
    for name, values in rates.items():
        ratios = [statistics.median(v / w for v, w in zip(values, rates[ref])) for ref in refs]
        print(
            f"{name:<40} {statistics.median(values):>7.0f}  "
            + "  ".join(f"{x:>15.2f}x" for x in ratios)
        )
    for label, extra in (
        ()
        if args.no_cli
        else (
            ("gankit train (CLI), defaults", ()),
            ("gankit train (CLI), --precision float32", ("--precision", "float32")),
        )
    ):
        value = cli_images_per_sec(args.batch, args.cli_steps, *extra)
        tutorial = {ref: statistics.median(rates[ref]) for ref in refs}
        print(
            f"{label:<40} {value:>7.0f}  "
            + "  ".join(f"{value / tutorial[ref]:>15.2f}x" for ref in refs)
            + "   (its own stopwatch; vs the references' medians)"
        )


if __name__ == "__main__":
    main()
