"""Time to quality: the quality yardstick against wall-clock training seconds, for
gankit's defaults and for every peer a user could write instead, on the same task.

    python benchmarks/time_to_quality.py                        # both tasks, seeds 0 and 1
    python benchmarks/time_to_quality.py --task transfer --seeds 0 --budget 300

- style transfer: ``gankit train`` (defaults) against the pix2pix recipe at DCGAN
  widths (:class:`peers.Pix2PixDCGAN`, the strongest peer) and the literal pix2pix
  tutorial (:class:`peers.Pix2Pix`, its full-width U-Net); both minimax + 100 x L1,
  batch 64;
- unconditional: ``gankit train --condition none`` against TensorFlow's DCGAN tutorial
  loop (:class:`peers.TutorialLoop`, batch 64; the Keras ``fit()`` GAN is slower,
  benchmarks/throughput.py).

Every peer trains in its fastest precision on the CPU it runs on
(:func:`peers.best_precision`): ``mixed_bfloat16`` where bfloat16 is native, float32
elsewhere (and under ``ONEDNN_MAX_CPU_ISA=AVX2``, which approximates such a CPU).

gankit trains its default run length; each peer trains for as many seconds as
gankit's run took (``--budget`` fixes the seconds instead). Seconds are wall clock
from the first training step (after start-up and tracing), including what each
contender does between steps (gankit's sample grids, logs and checkpoints; the peer's
weight snapshots). Quality is scored afterwards, off the clock, at every snapshot
(gankit: its checkpoints) with the yardstick (``benchmarks/yardstick.py``,
docs/quality.md). Contenders run one after the other on the same machine. Writes
``time_to_quality.json`` and ``time_to_quality.png`` into ``--out``; ``--table``
prints the points as markdown and compares gankit with each peer at equal seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from yardstick import PROTOCOL_KEYS, Yardstick, noise, score_gankit  # noqa: E402

TASKS = {"transfer": [], "unconditional": ["--condition", "none"]}
# Each task's peers, strongest first: (key, peer class name in peers.py, label).
PEERS = {
    "transfer": [
        ("pix2pix-dcgan", "Pix2PixDCGAN", "pix2pix recipe at DCGAN widths (strongest peer)"),
        ("pix2pix-tutorial", "Pix2Pix", "pix2pix tutorial, full-width U-Net"),
    ],
    "unconditional": [("dcgan-tutorial", "TutorialLoop", "DCGAN tutorial loop (strongest peer)")],
}
GANKIT_LABEL = {"transfer": "gankit defaults", "unconditional": "gankit --condition none"}
# Steps between snapshots: about every 11-18 s on a 2-core EPYC for either task (the
# unconditional run takes 4x the steps, of half the batch and a smaller network).
EVERY = {"transfer": 125, "unconditional": 500}


def train_gankit(
    out: Path, budget: float | None, every: int, extra: list[str], *, open_ended: bool = True
) -> list[tuple[int, float]]:
    """Run ``gankit train`` for its default run (or until ``budget`` training seconds,
    then SIGTERM: it checkpoints and stops); return (step, elapsed seconds) of every
    checkpoint. A budgeted run is ``open_ended`` (no length, so no learning-rate decay)
    unless told to keep its own length: it then ends at its length or its budget."""
    if (out / "config.toml").is_file() and not _complete(out, budget):
        # A run cut short (a killed benchmark) is no result: its seconds would set the
        # peers' budget. Start it again rather than resume, so its clock has no gap.
        print(f"{out} is an unfinished run; training it again", file=sys.stderr, flush=True)
        shutil.rmtree(out)
    if not (out / "config.toml").is_file():
        length = ["--steps", "1000000"] if budget and open_ended else []
        args = [
            sys.executable,
            "-m",
            "gankit",
            "train",
            "--out",
            str(out),
            *length,
            "--checkpoint-every",
            str(every),
            "--keep-checkpoints",
            "100000",
            "--log-every",
            "25",
            *extra,
        ]
        out.mkdir(parents=True, exist_ok=True)
        log = out.parent / f"{out.name}.stderr.log"  # a file, not a pipe nobody reads while it runs
        with log.open("w") as err:
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, text=True)
            while proc.poll() is None:
                time.sleep(1.0)
                if budget and _elapsed(out) >= budget:
                    proc.send_signal(signal.SIGTERM)
                    break
            proc.wait(timeout=600)
        if proc.returncode not in (0, 143):
            raise RuntimeError(f"gankit train failed: {log.read_text()[-2000:]}")
    elapsed = {r["step"]: r["elapsed_s"] for r in _metrics(out)}
    steps = sorted(int(p.stem.split("_")[1]) for p in (out / "checkpoints").glob("step_*.npz"))
    return [(s, elapsed[s]) for s in steps if s in elapsed]


def _complete(out: Path, budget: float | None) -> bool:
    """Whether the run in ``out`` got to its end: it finished, or a budgeted run
    trained for the whole budget."""
    run = out / "run.json"
    finished = run.is_file() and json.loads(run.read_text()).get("status") == "finished"
    return finished or bool(budget and _elapsed(out) >= budget)


def _metrics(out: Path) -> list[dict[str, Any]]:
    path = out / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _elapsed(out: Path) -> float:
    rows = _metrics(out)
    return rows[-1]["elapsed_s"] if rows else 0.0


def train_peer(peer: Any, budget: float, every: int) -> list[tuple[int, float, list[np.ndarray]]]:
    """Train ``peer`` in chunks of ``every`` steps until ``budget`` seconds; snapshot its
    generator's weights after each chunk (the snapshot is on the clock, as gankit's
    checkpoints are)."""
    snapshots, step, start = [], 0, time.perf_counter()
    while time.perf_counter() - start < budget:
        peer.run(every)
        step += every
        weights = [np.array(w) for w in peer.generator.get_weights()]
        snapshots.append((step, time.perf_counter() - start, weights))
    return snapshots


def score_peer(task: str, peer: Any, yardstick: Yardstick) -> dict[str, float]:
    if task == "transfer":
        return yardstick.score_transfer(peer.transfer)
    return yardstick.score_unconditional(
        lambda count, offset: peer.generator({"z": noise(count, offset, 100)}, training=False)
    )


def run_task(
    task: str, seed: int, args: argparse.Namespace, yardstick: Yardstick
) -> dict[str, list[dict[str, float]]]:
    """Every contender of ``task`` with ``seed``: {contender: [point, ...]}."""
    import peers

    out = args.out / task / f"seed{seed}"
    every = args.every or EVERY[task]
    points: dict[str, list[dict[str, float]]] = {"gankit": []}
    extra = [*TASKS[task], "--seed", str(seed), *args.gankit_args]
    for step, seconds in train_gankit(out / "gankit", args.budget, every, extra):
        score = score_gankit(
            yardstick, out / "gankit", out / "gankit" / "checkpoints" / f"step_{step:06d}.npz"
        )
        points["gankit"].append({"step": step, "seconds": seconds, **score})
        print(f"{task} seed {seed} gankit step {step} {seconds:.0f}s {_brief(score)}", flush=True)
    budget = args.budget or points["gankit"][-1]["seconds"]
    for key, cls, _ in PEERS[task]:
        if args.peers is not None and key not in args.peers:
            continue
        precision = peers.best_precision()  # bfloat16 only where it is native
        peer = (
            getattr(peers, cls)(batch=64, precision=precision, seed=seed)
            if task == "transfer"
            else peers.TutorialLoop(precision, 64, seed=seed)
        )
        points[key] = []
        for step, seconds, weights in train_peer(peer, budget, every):
            peer.generator.set_weights(weights)
            score = score_peer(task, peer, yardstick)
            points[key].append({"step": step, "seconds": seconds, **score})
            print(
                f"{task} seed {seed} {key} step {step} {seconds:.0f}s {_brief(score)}", flush=True
            )
    return points


def _brief(score: dict[str, float]) -> str:
    return " ".join(
        f"{k}={v:.4g}" for k, v in score.items() if k not in ("fd", "ground_truth_accuracy")
    )


PANELS = [
    ("transfer", "psnr", "PSNR to the ground truth (dB)"),
    ("transfer", "content_accuracy", "content accuracy"),
    ("unconditional", "fd_ratio", "FD / real-vs-real"),
    ("unconditional", "confident", "judge confident (>= 0.9)"),
]


def plot(results: dict[str, Any], path: Path) -> None:
    """One panel per figure of :data:`PANELS`; a colour per contender, a line style per seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [p for p in PANELS if p[0] in results["tasks"]]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 3.6), squeeze=False)
    styles = ["-", "--", ":", "-."]
    for ax, (task, key, label) in zip(axes[0], panels):
        labels = {"gankit": GANKIT_LABEL[task], **{k: name for k, _, name in PEERS[task]}}
        for seed_index, (seed, contenders) in enumerate(sorted(results["tasks"][task].items())):
            for colour, (contender, rows) in enumerate(contenders.items()):
                ax.plot(
                    [r["seconds"] for r in rows],
                    [r[key] for r in rows],
                    styles[seed_index % 4],
                    color=f"C{colour}",
                    marker="o",
                    ms=2.5,
                    lw=1.2,
                    label=f"{labels.get(contender, contender)}, seed {seed}",
                )
        protocol = results["protocol"]
        if key == "content_accuracy":
            ax.axhline(
                protocol["judge_accuracy_on_real_held_out"],
                color="gray",
                ls="--",
                lw=1,
                label="judge on the ground truth",
            )
        if key == "confident":
            ax.axhline(
                protocol["judge_confident_on_real_held_out"],
                color="gray",
                ls="--",
                lw=1,
                label="judge on real composites",
            )
        if key == "fd_ratio":
            ax.set_yscale("log")
            ax.axhline(1.0, color="gray", ls="--", lw=1)
        ax.axvline(60, color="lightgray", lw=0.8)
        ax.set_title(f"{task}: {label}", fontsize=10)
        ax.set_xlabel("training seconds (wall clock)")
        ax.legend(fontsize=6)
    fig.suptitle(results["machine"], fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


COLUMNS = {
    "transfer": [
        ("psnr", "PSNR (dB)", "{:.2f}"),
        ("l1", "L1", "{:.4f}"),
        ("content_accuracy", "content acc.", "{:.1%}"),
        ("ground_truth_accuracy", "ground truth acc.", "{:.1%}"),
        ("fd_ratio", "FD ratio", "{:.2f}x"),
    ],
    "unconditional": [
        ("fd_ratio", "FD ratio", "{:.2f}x"),
        ("confident", "confident", "{:.1%}"),
        ("entropy_ratio", "entropy / ln 10", "{:.3f}"),
    ],
}


def table(results: dict[str, Any], at: list[float] | None = None) -> str:
    """Every point of every contender and seed, as markdown tables (one per task); with
    ``at``, only each contender's first point at or after each of those seconds, and
    its last point."""
    lines = []
    for task, seeds in results["tasks"].items():
        cols = COLUMNS[task]
        lines += [
            f"### {task}",
            "",
            "| contender | seed | step | seconds | " + " | ".join(c[1] for c in cols) + " |",
            "| --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in cols) + " |",
        ]
        for seed, contenders in sorted(seeds.items()):
            for contender, rows in contenders.items():
                for r in _at(rows, at):
                    values = " | ".join(fmt.format(r[k]) for k, _, fmt in cols)
                    lines.append(
                        f"| {contender} | {seed} | {r['step']} | {r['seconds']:.0f} | {values} |"
                    )
        lines.append("")
    return "\n".join(lines)


# Figures compared at equal seconds, and which way is better.
HIGHER_IS_BETTER = {"psnr": True, "content_accuracy": True, "fd_ratio": False, "confident": True}
COMPARED = {
    "transfer": ["psnr", "content_accuracy", "fd_ratio"],
    "unconditional": ["fd_ratio", "confident"],
}


def compare(results: dict[str, Any], start: float = 60.0) -> str:
    """gankit against each peer at equal seconds: at ``start`` and every snapshot time of
    either from there to the shorter run's end, both curves interpolated linearly
    between their snapshots (before a curve's first snapshot, that snapshot's value).
    One line per task, seed, peer and figure: how many points gankit is ahead at, and
    the point of its smallest lead (or largest deficit)."""
    lines = []
    for task, seeds in results["tasks"].items():
        for seed, contenders in sorted(seeds.items()):
            ours = contenders.get("gankit", [])
            for peer, theirs in contenders.items():
                if peer == "gankit" or not ours or not theirs:
                    continue
                end = min(ours[-1]["seconds"], theirs[-1]["seconds"])
                times = sorted(
                    {start} | {r["seconds"] for r in ours + theirs if start <= r["seconds"] <= end}
                )
                for key in COMPARED[task]:
                    a = np.interp(times, [r["seconds"] for r in ours], [r[key] for r in ours])
                    b = np.interp(times, [r["seconds"] for r in theirs], [r[key] for r in theirs])
                    lead = (a - b) if HIGHER_IS_BETTER[key] else (b - a)
                    worst = int(np.argmin(lead))
                    lines.append(
                        f"{task} seed {seed} vs {peer} {key}: ahead at {int((lead > 0).sum())} of "
                        f"{len(times)} points ({start:.0f}-{end:.0f} s); smallest lead "
                        f"{a[worst]:.4g} against {b[worst]:.4g} at {times[worst]:.0f} s"
                    )
    return "\n".join(lines)


def machine() -> str:
    """The CPU, its bfloat16 support, cores and whether a GPU is visible."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in info.splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    flags = set(
        next(
            (
                line.split(":", 1)[1].split()
                for line in info.splitlines()
                if line.startswith("flags")
            ),
            [],
        )
    )
    bf16 = (
        "AMX-BF16"
        if "amx_bf16" in flags
        else "AVX512-BF16 (no AMX)"
        if "avx512_bf16" in flags
        else "no native bfloat16"
    )
    from gankit.nn.precision import cpu_has_native_bf16

    cap = os.environ.get("ONEDNN_MAX_CPU_ISA")
    if cap:  # an approximation of another CPU kind: say so with every figure
        kind = "native" if cpu_has_native_bf16() else "emulated"
        bf16 += f", oneDNN capped at {cap} (bfloat16 {kind})"
    return (
        f"{model}, {bf16}, {os.cpu_count()} cores, no GPU"
        if not Path("/dev/nvidia0").exists()
        else f"{model}, GPU"
    )


def _at(rows: list[dict[str, Any]], at: list[float] | None) -> list[dict[str, Any]]:
    if not at:
        return rows
    picked = [next((r for r in rows if r["seconds"] >= t), None) for t in at] + rows[-1:]
    return [r for i, r in enumerate(picked) if r is not None and r not in picked[:i]]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", choices=["transfer", "unconditional", "both"], default="both")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="training seconds per contender (default: gankit's default run, peers as long)",
    )
    parser.add_argument(
        "--every",
        type=int,
        default=None,
        help="steps between snapshots (default: 125 on transfer, 500 unconditional)",
    )
    parser.add_argument(
        "--peers",
        nargs="*",
        default=None,
        help="only these peers (keys of PEERS; none with no keys); the others keep the "
        "points of an earlier run in --out",
    )
    parser.add_argument(
        "--gankit-args",
        nargs=argparse.REMAINDER,
        default=[],
        help="extra `gankit train` flags (experiments; the figures use none)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/time-to-quality"))
    parser.add_argument(
        "--plot", type=Path, default=None, help="also write the plot here (e.g. docs/images/...)"
    )
    parser.add_argument(
        "--plot-only", action="store_true", help="plot an existing time_to_quality.json"
    )
    parser.add_argument("--table", action="store_true", help="print the points as markdown tables")
    parser.add_argument(
        "--table-at",
        type=float,
        nargs="*",
        default=None,
        help="with --table: only the first point after each of these seconds, and the last",
    )
    args = parser.parse_args()
    results_file = args.out / "time_to_quality.json"
    if args.plot_only:
        results = json.loads(results_file.read_text())
    else:
        results = run(args, results_file)
    if args.table:
        print(table(results, args.table_at))
        print(compare(results))
    try:
        for path in (args.out / "time_to_quality.png", args.plot):
            if path is not None:
                plot(results, path)
    except ImportError as exc:  # the results are written; the plot needs the bench extra
        print(f"wrote {results_file}; no plot ({exc}: pip install '.[bench]')")
        return
    print(f"wrote {results_file} and {args.out / 'time_to_quality.png'}")


def run(args: argparse.Namespace, results_file: Path) -> dict[str, Any]:
    yardstick = Yardstick()
    tasks = ["transfer", "unconditional"] if args.task == "both" else [args.task]
    results = {
        "machine": machine(),
        "budget_s": args.budget,
        "protocol": yardstick.protocol(),
        "tasks": {},
    }
    if results_file.is_file():  # keep the other tasks' and seeds' results, if comparable
        earlier = json.loads(results_file.read_text())
        if all(earlier["protocol"].get(k) == results["protocol"][k] for k in PROTOCOL_KEYS):
            results["tasks"] = earlier["tasks"]
        else:
            print(f"{results_file}: scored by another yardstick protocol; its points are not kept")
    args.out.mkdir(parents=True, exist_ok=True)
    for task in tasks:
        for seed in args.seeds:
            previous = results["tasks"].setdefault(task, {}).get(str(seed), {})
            points = run_task(task, seed, args, yardstick)
            # a peer left out by --peers keeps the points of its earlier run
            results["tasks"][task][str(seed)] = {
                **points,
                **{k: v for k, v in previous.items() if k not in points},
            }
            results_file.write_text(json.dumps(results, indent=1))
    print(json.dumps(results["protocol"]))
    return results


if __name__ == "__main__":
    main()
