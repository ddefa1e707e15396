"""Time to quality of unpaired translation on ``mnist-cifar-unpaired``, at equal seconds.

Contenders, snapshotted every ``--every`` steps and every snapshot scored after
training: gankit's schemes train their default run (or ``--gankit-args``), stopped at
``--cap`` seconds if given; the peer trains as many seconds as the longest gankit run of
the seed (its clock stops while it is scored; ``--budget`` when there is none):

- gankit ``cyclegan``, ``cut``, ``fastcut`` on ``mnist-cifar-unpaired`` (defaults, or
  ``--gankit-args``), and ``pix2pix`` on ``mnist-cifar`` (digit to composite, from the
  pairs: the upper bound, it sees what the others must infer);
- the peer: the Keras CycleGAN example's recipe (``keras_cyclegan.py``) on the same
  unpaired data and batch, in its faster precision on this CPU.

Scores (the yardstick's held-out halves of the test split, ``yardstick.py``):

- **A to B content accuracy**: the judge reads half A's digits translated to composites
  as the source digit;
- **A to B Fréchet ratio**: the translations' judge features against half B's real
  composites, over real half A against real half B (1.0: as close as real data);
- **B to A PSNR**: half A's real composites translated back to digits, against their
  source digits (two-way schemes only).

``python benchmarks/translation.py --seeds 0 1`` prints a table per seed
and writes ``translation.json`` and a grid per contender into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from time_to_quality import train_gankit  # noqa: E402
from yardstick import HALF, Yardstick, frechet, pixel_fidelity  # noqa: E402

CONTENDERS = {
    "cyclegan": ["--scheme", "cyclegan", "--dataset", "mnist-cifar-unpaired"],
    "cut": ["--scheme", "cut", "--dataset", "mnist-cifar-unpaired"],
    "fastcut": ["--scheme", "fastcut", "--dataset", "mnist-cifar-unpaired"],
    "pix2pix (pairs)": ["--scheme", "pix2pix", "--dataset", "mnist-cifar"],
}
PEER = "keras-cyclegan"
N = 2000  # held-out examples scored per snapshot (of the yardstick's half A)


def machine() -> str:
    from time_to_quality import machine as describe

    return describe()


def score(yardstick: Yardstick, a2b: Any, b2a: Any | None) -> dict[str, float]:
    """A to B accuracy and Fréchet ratio, B to A PSNR, on the first ``N`` of half A."""
    half = yardstick.a
    images = np.concatenate([a2b(half.content[i : i + 250]) for i in range(0, N, 250)])
    features, probs = yardstick.judge(images)
    out = {
        "content_accuracy": float(np.mean(probs.argmax(1) == half.label[:N])),
        "fd_ratio": frechet(features, yardstick.features_b[:N]) / yardstick.fd_real,
    }
    if b2a is not None:
        digits = np.concatenate([b2a(half.image[i : i + 250]) for i in range(0, N, 250)])
        out["b2a_psnr"] = pixel_fidelity(digits, half.content[:N])["psnr"]
    return out


def gankit_translators(run: Path, checkpoint: Path) -> tuple[Any, Any | None]:
    from gankit.plugin.loader import load_plugins
    from gankit.run.models import load_network
    from gankit.run.rundir import RunDir

    registry, rundir = load_plugins().registry, RunDir(run)
    roles = json.loads((run / "run.json").read_text())["roles"]
    exports = {r.get("export"): name for name, r in roles.items() if r.get("export")}
    forward = load_network(
        rundir,
        registry,
        role=exports.get("generator_a2b") or exports["generator"],
        checkpoint=checkpoint,
    )[0]
    backward = (
        load_network(rundir, registry, role=exports["generator_b2a"], checkpoint=checkpoint)[0]
        if "generator_b2a" in exports
        else None
    )
    a2b = lambda x: np.asarray(forward(x, training=False))  # noqa: E731
    b2a = (lambda x: np.asarray(backward(x, training=False))) if backward is not None else None  # noqa: E731
    return a2b, b2a


def run_contender(
    name: str, args: argparse.Namespace, seed: int, yardstick: Yardstick
) -> list[dict[str, float]]:
    out = args.out / f"seed{seed}" / name.split()[0]
    extra = [
        *CONTENDERS[name],
        "--seed",
        str(seed),
        "--batch-size",
        str(args.batch),
        *args.gankit_args,
    ]
    points = []
    for step, seconds in train_gankit(out, args.cap, args.every, extra, open_ended=False):
        a2b, b2a = gankit_translators(out, out / "checkpoints" / f"step_{step:06d}.npz")
        points.append({"step": step, "seconds": seconds, **score(yardstick, a2b, b2a)})
        print(f"seed {seed} {name} step {step} {seconds:.0f}s {_brief(points[-1])}", flush=True)
    return points


def run_peer(
    args: argparse.Namespace, seed: int, yardstick: Yardstick, precision: str, budget: float
) -> list[dict[str, float]]:
    from keras_cyclegan import KerasCycleGAN

    peer = KerasCycleGAN(args.batch, precision, seed=seed)
    peer.run(2)  # trace before the clock starts, as gankit's clock does
    points, step, clock = [], 0, 0.0
    while clock < budget:
        start = time.perf_counter()
        peer.run(args.every)
        clock += time.perf_counter() - start
        step += args.every
        points.append(
            {"step": step, "seconds": round(clock, 1), **score(yardstick, peer.a2b, peer.b2a)}
        )
        print(f"seed {seed} {PEER} step {step} {clock:.0f}s {_brief(points[-1])}", flush=True)
    return points


def _brief(point: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in point.items() if k not in ("step", "seconds"))


def table(results: dict[str, Any], at: list[float]) -> str:
    """Per seed: every contender's first snapshot past each of ``at`` seconds."""
    lines = []
    for seed, contenders in results["seeds"].items():
        lines += [
            f"\nseed {seed} ({results['machine']}; batch {results['batch']})",
            "",
            "| contender | seconds | step | A→B content accuracy | A→B Fréchet ratio | B→A PSNR "
            "(dB) |",
            "|---|---|---|---|---|---|",
        ]
        for name, points in contenders.items():
            for t in at:
                p = next((q for q in points if q["seconds"] >= t), points[-1] if points else None)
                if p is None:
                    continue
                psnr = f"{p['b2a_psnr']:.2f}" if "b2a_psnr" in p else "—"
                lines.append(
                    f"| {name} | {p['seconds']:.0f} | {p['step']} | {p['content_accuracy']:.3f} | "
                    f"{p['fd_ratio']:.2f} | {psnr} |"
                )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--budget", type=float, default=600.0, help="the peer's seconds when no gankit run is there"
    )
    parser.add_argument(
        "--cap",
        type=float,
        default=None,
        help="stop each gankit run at this many training seconds (its own length and "
        "learning-rate schedule kept): every contender scored within one budget",
    )
    parser.add_argument("--every", type=int, default=100, help="steps between snapshots")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--contenders", nargs="*", default=[*CONTENDERS, PEER])
    parser.add_argument("--gankit-args", nargs=argparse.REMAINDER, default=[])
    parser.add_argument("--out", type=Path, default=Path("runs/translation"))
    parser.add_argument("--table-at", type=float, nargs="*", default=[60, 150, 300, 600])
    args = parser.parse_args()
    yardstick = Yardstick()
    results_file = args.out / "translation.json"
    results = json.loads(results_file.read_text()) if results_file.is_file() else {"seeds": {}}
    results.update(
        {
            "machine": machine(),
            "budget_s": args.budget,
            "batch": args.batch,
            "n": N,
            "half": HALF,
            "protocol": yardstick.protocol(),
        }
    )
    if PEER in args.contenders:
        from keras_cyclegan import best_precision

        results["peer_precision"], results["peer_speeds"] = best_precision(args.batch)
        print(
            f"{PEER}: images/s by precision {results['peer_speeds']}; using "
            f"{results['peer_precision']}"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        for name in args.contenders:
            if name == PEER:  # as long as gankit's longest run of this seed: equal seconds
                ours = [p[-1]["seconds"] for p in results["seeds"].get(str(seed), {}).values() if p]
                budget = max(ours) if ours else args.budget
                points = run_peer(args, seed, yardstick, results["peer_precision"], budget)
            else:
                points = run_contender(name, args, seed, yardstick)
            results["seeds"].setdefault(str(seed), {})[name] = points
            results_file.write_text(json.dumps(results, indent=1))
    print(table(results, args.table_at))
    print(f"wrote {results_file}")


if __name__ == "__main__":
    main()
