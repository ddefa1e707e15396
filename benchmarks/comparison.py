"""The menu compared: every loss, with and without R1, spectral norm, EMA and DiffAugment,
on the unconditional and the style-transfer tasks, at the same wall-clock budget,
scored with the quality yardstick (docs/quality.md).

    python benchmarks/comparison.py --budget 150 240 --seeds 0       # everything
    python benchmarks/comparison.py --task transfer --only minimax     # a subset

Each configuration is a ``gankit train`` run, stopped (SIGTERM: it checkpoints) once
its own log says ``--budget`` training seconds have passed; its last checkpoint is
scored off the clock. Runs are kept under ``--out``: rerunning scores what exists and
trains what is missing. Writes ``comparison.json``, ``comparison.md`` (the table of
docs/comparison.md) and one sample grid per configuration (first seed) into
``--out/grids``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from time_to_quality import machine, train_gankit  # noqa: E402
from yardstick import Yardstick, score_gankit  # noqa: E402

NO_BN = ["-o", "discriminator.batch_norm=false"]
EMA = ["--ema-decay", "0.999"]
CONFIGS: dict[str, list[str]] = {
    "minimax": [],
    "minimax + EMA": EMA,
    "minimax + R1": ["--penalty", "r1"],
    "minimax + rotation": ["--rotation", "1"],
    "minimax + DiffAugment": ["--augment", "translation,color,cutout"],
    "minimax + SN (no D batch norm)": ["-o", "discriminator.spectral_norm=true", *NO_BN],
    "hinge": ["--loss", "hinge"],
    "hinge + EMA": ["--loss", "hinge", *EMA],
    "hinge + DiffAugment": ["--loss", "hinge", "--augment", "translation,color,cutout"],
    "wgan-gp (no D batch norm)": ["--loss", "wgan-gp", *NO_BN],
    "lsgan": ["--loss", "lsgan"],
    "ragan": ["--loss", "ragan"],
    "ragan + EMA": ["--loss", "ragan", *EMA],
}
TASKS = {"transfer": [], "unconditional": ["--condition", "none"]}
# The style-transfer task converges within a few minutes (docs/performance.md), so it
# gets a shorter budget and the configurations where its losses and stabilisers differ.
TASK_CONFIGS = {
    "transfer": [
        "minimax",
        "minimax + EMA",
        "minimax + R1",
        "minimax + DiffAugment",
        "hinge",
        "wgan-gp (no D batch norm)",
        "lsgan",
        "ragan",
    ],
    "unconditional": list(CONFIGS),
}
KEYS = {
    "transfer": ("content_accuracy", "fd_ratio"),
    "unconditional": ("entropy_ratio", "fd_ratio"),
}


def slug(name: str) -> str:
    return re.sub("-+", "-", "".join(c if c.isalnum() else "-" for c in name.lower())).strip("-")


def run_config(
    task: str, name: str, seed: int, args: argparse.Namespace, yardstick: Yardstick
) -> dict[str, Any]:
    out = args.out / task / slug(name) / f"seed{seed}"
    # an unconditional (--parts) run keeps a moving average by default: the rows without
    # "+ EMA" turn it off so that each stabiliser is compared against none
    no_ema = (
        ["--ema-decay", "0"]
        if task == "unconditional" and "--ema-decay" not in CONFIGS[name]
        else []
    )
    extra = [*TASKS[task], *CONFIGS[name], *no_ema, "--seed", str(seed), *args.train_arg]
    points = train_gankit(out, args.budget[list(TASKS).index(task)], args.every, extra)
    step, seconds = points[-1]
    score = score_gankit(yardstick, out, out / "checkpoints" / f"step_{step:06d}.npz")
    info = json.loads((out / "run.json").read_text())
    return {
        "task": task,
        "config": name,
        "seed": seed,
        "step": step,
        "seconds": seconds,
        "precision": info.get("precision"),
        **score,
    }


def table(rows: list[dict[str, Any]], protocol: dict[str, Any]) -> str:
    lines = []
    for task in TASKS:
        first, second = KEYS[task]
        mine = [r for r in rows if r["task"] == task]
        if not mine:
            continue
        lines += [
            f"### {'Style transfer' if task == 'transfer' else 'Unconditional'}",
            "",
            f"| configuration | steps | {first.replace('_', ' ')} | FD / real-vs-real | per seed |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for name in CONFIGS:
            runs = [r for r in mine if r["config"] == name]
            if not runs:
                continue
            per_seed = "; ".join(f"{r[first]:.3f}, {r[second]:.2f}x" for r in runs)
            lines.append(
                f"| {name} | {statistics.mean(r['step'] for r in runs):.0f} | "
                f"{statistics.mean(r[first] for r in runs):.3f} | "
                f"{statistics.mean(r[second] for r in runs):.2f}x | "
                f"{per_seed} |"
            )
        lines.append("")
    lines.append(f"Yardstick: {json.dumps(protocol)}")
    return "\n".join(lines)


def save_grid(task: str, name: str, args: argparse.Namespace) -> None:
    import subprocess

    run = args.out / task / slug(name) / f"seed{args.seeds[0]}"
    grid = args.out / "grids" / f"{task}-{slug(name)}.png"
    grid.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "gankit",
            "sample",
            "--run",
            str(run),
            "-n",
            "24" if task == "transfer" else "48",
            "--out",
            str(grid),
            "--seed",
            "1",
            "--scale",
            "1",
        ],
        check=True,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--budget",
        type=float,
        nargs=2,
        default=[150.0, 240.0],
        metavar=("TRANSFER", "UNCONDITIONAL"),
        help="training seconds per run, for each task",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--task", choices=["transfer", "unconditional", "both"], default="both")
    parser.add_argument(
        "--only", nargs="*", default=None, help="configuration names to run (default: all)"
    )
    parser.add_argument("--every", type=int, default=250, help="checkpoint interval (steps)")
    parser.add_argument(
        "--train-arg", action="append", default=[], metavar="ARG", help="extra train argument"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/comparison"))
    args = parser.parse_args()
    yardstick = Yardstick()
    tasks = list(TASKS) if args.task == "both" else [args.task]
    names = {
        task: [n for n in TASK_CONFIGS[task] if args.only is None or n in args.only]
        for task in tasks
    }
    results_file = args.out / "comparison.json"
    rows = json.loads(results_file.read_text())["rows"] if results_file.is_file() else []
    done = {(r["task"], r["config"], r["seed"]) for r in rows}
    for seed in args.seeds:
        for task in tasks:
            for name in names[task]:
                if (task, name, seed) in done:
                    continue
                row = run_config(task, name, seed, args, yardstick)
                rows.append(row)
                print(json.dumps(row), flush=True)
                results_file.write_text(
                    json.dumps(
                        {
                            "machine": machine(),
                            "budget_s": dict(zip(TASKS, args.budget)),
                            "protocol": yardstick.protocol(),
                            "rows": rows,
                        },
                        indent=1,
                    )
                )
    for task in tasks:
        for name in names[task]:
            save_grid(task, name, args)
    (args.out / "comparison.md").write_text(table(rows, yardstick.protocol()) + "\n")
    print(table(rows, yardstick.protocol()))


if __name__ == "__main__":
    main()
