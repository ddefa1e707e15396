"""Sample quality of gankit's default runs, with the quality yardstick (docs/quality.md).

    python benchmarks/quality.py                      # train both default runs, then score them
    python benchmarks/quality.py --cond-run R1 --uncond-run R2   # score existing runs
    python benchmarks/quality.py --work runs/q-sim --train-arg=--update --train-arg=simultaneous

Needs GANKIT_DATA_DIR (real MNIST + CIFAR-10). Prints, for each run, the Fréchet
distance of the generated images to held-out real composites, the real-vs-real
distance of two disjoint real sets of the same size and their ratio; content accuracy
(style transfer) next to the judge's accuracy on real held-out composites; class
entropy (unconditional); with seeds and sizes, and the wall time of each training.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from time_to_quality import machine  # noqa: E402
from yardstick import Yardstick, score_gankit  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--cond-run", type=Path, help="existing style-transfer run (default: train one)"
    )
    parser.add_argument(
        "--uncond-run", type=Path, help="existing unconditional run (default: train one)"
    )
    parser.add_argument("--work", type=Path, default=Path("runs/quality-benchmark"))
    parser.add_argument(
        "--train-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra `gankit train` argument for both runs (repeatable)",
    )
    args = parser.parse_args()

    timings = {}
    for name, flag, extra in (
        ("cond", "cond_run", []),
        ("uncond", "uncond_run", ["--condition", "none"]),
    ):
        if getattr(args, flag) is None:
            run = args.work / name
            if not (run / "generator.keras").is_file():
                start = time.time()
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "gankit",
                        "train",
                        "--out",
                        str(run),
                        *extra,
                        *args.train_arg,
                    ],
                    check=True,
                )
                timings[name] = round(time.time() - start)
            setattr(args, flag, run)

    yardstick = Yardstick()
    protocol = yardstick.protocol()
    cond, uncond = score_gankit(yardstick, args.cond_run), score_gankit(yardstick, args.uncond_run)
    rows = [
        (
            "held-out sets (disjoint digits and CIFAR images)",
            f"n={protocol['n']} each, seed {protocol['seed']}",
        ),
        ("real-vs-real Fréchet distance (half A vs half B)", f"{yardstick.fd_real:.2f}"),
        ("judge accuracy on real held-out composites", f"{yardstick.real_accuracy:.4f}"),
        ("style transfer: content accuracy", f"{cond['content_accuracy']:.4f}"),
        (
            "style transfer: Fréchet distance to half B",
            f"{cond['fd']:.2f} ({cond['fd_ratio']:.2f}x real-vs-real)",
        ),
        ("unconditional: class entropy / ln 10", f"{uncond['entropy_ratio']:.4f}"),
        (
            "unconditional: Fréchet distance to half B",
            f"{uncond['fd']:.2f} ({uncond['fd_ratio']:.2f}x real-vs-real)",
        ),
    ]
    rows += [
        (f"{name} run: wall time of `gankit train` (s)", str(seconds))
        for name, seconds in timings.items()
    ]
    width = max(len(r[0]) for r in rows)
    print(machine())
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print(
        json.dumps(
            {
                "protocol": protocol,
                "transfer": cond,
                "unconditional": uncond,
                "train_seconds": timings,
            }
        )
    )


if __name__ == "__main__":
    main()
