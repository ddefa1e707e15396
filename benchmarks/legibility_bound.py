"""How legible a generator's digits get when it has nothing to draw but digits.

    python benchmarks/legibility_bound.py                       # train on MNIST alone, then score
    python benchmarks/legibility_bound.py --run R --steps 3000 6000   # score an existing run
    python benchmarks/legibility_bound.py --train-arg=-o --train-arg=generator.to_image=conv

An upper bound for the unconditional mnist-cifar run's legibility (docs/performance.md,
"Not legible yet"): `gankit train --dataset mnist --condition none` learns the digits
alone; each checkpoint's digits are composited ``|style - digit|`` onto the yardstick's
half-A CIFAR images, exactly as the real composites are made, and scored with the
unconditional protocol (docs/quality.md). Prints, per checkpoint, the judge's confident
share (next to its share on the real composites of the same backgrounds), the class
entropy and the Fréchet ratio. Needs GANKIT_DATA_DIR (real MNIST + CIFAR-10).

The Fréchet ratio here is not comparable with the unconditional run's: the backgrounds
are half A's real images, so only the digits differ from real composites.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from gankit.run.rundir import RunDir

sys.path.insert(0, str(Path(__file__).resolve().parent))

from time_to_quality import machine  # noqa: E402
from yardstick import Yardstick, composite, gankit_generator, noise  # noqa: E402


def score_digits(yardstick: Yardstick, run: Path, checkpoint: Path) -> dict[str, float]:
    """The run's digits at ``checkpoint`` on half A's backgrounds, scored unconditionally."""
    generator, config = gankit_generator(run, checkpoint)

    def composites(count: int, offset: int) -> np.ndarray:
        digits = np.asarray(
            generator({"z": noise(count, offset, config.latent_dim)}, training=False), np.float32
        )
        return composite(digits, yardstick.a.style[offset : offset + count])

    return yardstick.score_unconditional(composites)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--run", type=Path, help="existing MNIST-alone run (default: train one into --work)"
    )
    parser.add_argument("--work", type=Path, default=Path("runs/legibility-bound"))
    parser.add_argument(
        "--steps", type=int, nargs="+", default=[1000, 3000, 6000], help="checkpoints to score"
    )
    parser.add_argument(
        "--train-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra `gankit train` argument (repeatable)",
    )
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()

    run = args.run
    if run is None:
        run = args.work
        subprocess.run(
            [
                sys.executable,
                "-m",
                "gankit",
                "train",
                "--dataset",
                "mnist",
                "--condition",
                "none",
                "--steps",
                str(max(args.steps)),
                "--checkpoint-every",
                "1000",
                "--keep-checkpoints",
                "100",
                "--out",
                str(run),
                "--no-progress",
                *args.train_arg,
            ],
            check=True,
        )
    yardstick = Yardstick()
    print(f"machine: {machine()}")
    print(f"real composites, half A: confident {yardstick.real_confident:.1%}")
    results = {}
    for step in args.steps:
        checkpoint = RunDir(run).checkpoint_path(step)
        if not checkpoint.is_file():
            sys.exit(
                f"error: no checkpoint {checkpoint} (train with --checkpoint-every 1000 "
                "--keep-checkpoints 100)"
            )
        score = score_digits(yardstick, run, checkpoint)
        results[step] = score
        print(
            f"step {step:>6}: confident {score['confident']:.1%}  entropy/ln10 "
            f"{score['entropy_ratio']:.3f}  "
            f"FD ratio {score['fd_ratio']:.2f}x"
        )
    if args.out:
        args.out.write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "protocol": yardstick.protocol(),
                    "run": str(run),
                    "scores": results,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
