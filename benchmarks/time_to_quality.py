"""Time to quality: the quality yardstick against wall-clock training seconds, for
gankit's defaults and for the best unaided peer on the same task.

    python benchmarks/time_to_quality.py                 # both tasks, 600 s each contender
    python benchmarks/time_to_quality.py --task transfer --budget 300 --out runs/ttq

- style transfer: ``gankit train`` (defaults) against the pix2pix tutorial's recipe
  (:class:`peers.Pix2Pix`: a U-Net over the stacked conditions, minimax + 100 x L1,
  ``mixed_bfloat16``, batch 64);
- unconditional: ``gankit train --condition none`` against TensorFlow's DCGAN tutorial
  loop with ``mixed_bfloat16`` (:class:`peers.TutorialLoop`, batch 64).

Seconds are wall clock from the first training step (after start-up and tracing),
including what each contender does between steps (gankit's sample grids, logs and
checkpoints; the peer's weight snapshots). Quality is scored afterwards, off the
clock, at every snapshot (gankit: its checkpoints) with the yardstick
(``benchmarks/yardstick.py``, docs/quality.md). Contenders run one after the other on
the same machine. Writes ``time_to_quality.json`` and ``time_to_quality.png`` into
``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from yardstick import Yardstick, noise, score_gankit  # noqa: E402

TASKS = {"transfer": [], "unconditional": ["--condition", "none"]}


def train_gankit(out: Path, budget: float, every: int, extra: list[str]) -> list[tuple[int, float]]:
    """Run ``gankit train`` until ``budget`` training seconds have passed (then SIGTERM:
    it checkpoints and stops); return (step, elapsed seconds) of every checkpoint."""
    if not (out / "config.toml").is_file():
        args = [sys.executable, "-m", "gankit", "train", "--out", str(out), "--steps", "1000000",
                "--checkpoint-every", str(every), "--keep-checkpoints", "100000", "--log-every", "25", *extra]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while proc.poll() is None:
            time.sleep(1.0)
            if _elapsed(out) >= budget:
                proc.send_signal(signal.SIGTERM)
                break
        _, err = proc.communicate(timeout=600)
        if proc.returncode not in (0, 143):
            raise RuntimeError(f"gankit train failed: {err[-2000:]}")
    elapsed = {r["step"]: r["elapsed_s"] for r in _metrics(out)}
    steps = sorted(int(p.stem.split("_")[1]) for p in (out / "checkpoints").glob("step_*.npz"))
    return [(s, elapsed[s]) for s in steps if s in elapsed]


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


def run_task(task: str, args: argparse.Namespace, yardstick: Yardstick) -> dict[str, list[dict[str, float]]]:
    from peers import Pix2Pix, TutorialLoop

    out = args.out / task
    points: dict[str, list[dict[str, float]]] = {"gankit": [], "peer": []}
    for step, seconds in train_gankit(out / "gankit", args.budget, args.every, TASKS[task]):
        score = score_gankit(yardstick, out / "gankit", out / "gankit" / "checkpoints" / f"step_{step:06d}.npz")
        points["gankit"].append({"step": step, "seconds": seconds, **score})
        print(f"{task} gankit step {step} {seconds:.0f}s {score}", flush=True)
    peer = Pix2Pix(batch=64) if task == "transfer" else TutorialLoop("mixed_bfloat16", 64)
    for step, seconds, weights in train_peer(peer, args.budget, args.every):
        peer.generator.set_weights(weights)
        if task == "transfer":
            score = yardstick.score_transfer(peer.transfer)
        else:
            score = yardstick.score_unconditional(
                lambda count, offset: peer.generator({"z": noise(count, offset, 100)}, training=False))
        points["peer"].append({"step": step, "seconds": seconds, **score})
        print(f"{task} peer step {step} {seconds:.0f}s {score}", flush=True)
    return points


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("transfer", "content_accuracy", "content accuracy"), ("transfer", "fd_ratio", "FD / real-vs-real"),
              ("unconditional", "entropy_ratio", "class entropy / ln 10"), ("unconditional", "fd_ratio", "FD / real-vs-real")]
    panels = [p for p in panels if p[0] in results["tasks"]]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    names = {"transfer": ("gankit defaults", "pix2pix tutorial recipe (bf16)"),
             "unconditional": ("gankit --condition none", "DCGAN tutorial loop (bf16)")}
    for ax, (task, key, label) in zip(axes[0], panels):
        for contender, name in zip(("gankit", "peer"), names[task]):
            rows = results["tasks"][task][contender]
            ax.plot([r["seconds"] for r in rows], [r[key] for r in rows], marker="o", ms=3, label=name)
        if key == "content_accuracy":
            ax.axhline(results["protocol"]["judge_accuracy_on_real_held_out"], color="gray", ls="--", lw=1,
                       label="judge on real held-out")
        if key == "fd_ratio":
            ax.set_yscale("log")
            ax.axhline(1.0, color="gray", ls="--", lw=1)
        ax.set_title(f"{task}: {label}", fontsize=10)
        ax.set_xlabel("training seconds (wall clock)")
        ax.legend(fontsize=7)
    fig.suptitle(results["machine"], fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def machine() -> str:
    """The CPU, its bfloat16 support, cores and whether a GPU is visible."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
                 platform.processor())
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []))
    bf16 = "AMX-BF16" if "amx_bf16" in flags else "AVX512-BF16 (no AMX)" if "avx512_bf16" in flags else "no native bfloat16"
    return f"{model}, {bf16}, {os.cpu_count()} cores, no GPU" if not Path("/dev/nvidia0").exists() else f"{model}, GPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=["transfer", "unconditional", "both"], default="both")
    parser.add_argument("--budget", type=float, default=600.0, help="training seconds per contender")
    parser.add_argument("--every", type=int, default=250, help="steps between snapshots")
    parser.add_argument("--out", type=Path, default=Path("runs/time-to-quality"))
    parser.add_argument("--plot", type=Path, default=None, help="also write the plot here (e.g. docs/images/...)")
    parser.add_argument("--plot-only", action="store_true", help="plot an existing time_to_quality.json")
    args = parser.parse_args()
    if args.plot_only:
        results = json.loads((args.out / "time_to_quality.json").read_text())
        for path in (args.out / "time_to_quality.png", args.plot):
            if path is not None:
                plot(results, path)
        return
    yardstick = Yardstick()
    tasks = ["transfer", "unconditional"] if args.task == "both" else [args.task]
    results_file = args.out / "time_to_quality.json"
    results = {"machine": machine(), "budget_s": args.budget, "protocol": yardstick.protocol(), "tasks": {}}
    if results_file.is_file():  # keep the other task's results when running one
        results["tasks"] = json.loads(results_file.read_text())["tasks"]
    for task in tasks:
        results["tasks"][task] = run_task(task, args, yardstick)
        (args.out / "time_to_quality.json").write_text(json.dumps(results, indent=1))
    for path in (args.out / "time_to_quality.png", args.plot):
        if path is not None:
            plot(results, path)
    print(json.dumps(results["protocol"]))
    print(f"wrote {args.out / 'time_to_quality.json'} and {args.out / 'time_to_quality.png'}")


if __name__ == "__main__":
    main()
