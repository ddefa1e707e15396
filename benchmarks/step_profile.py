"""Where one training step's time goes: gankit's step against the best peer's, per op.

    python benchmarks/step_profile.py [--task transfer] [--steps 40] [--batch 64]
        [--gankit-args update=simultaneous]

Unconditional (the default): every contender of ``benchmarks/throughput.py``'s
like-for-like setup (unconditional DCGAN 32x32, the same network, against TensorFlow's
DCGAN tutorial loop); ``--task transfer``: gankit's default style-transfer run against
the pix2pix recipe at DCGAN widths (``peers.Pix2PixDCGAN``). Peers train in their
fastest precision on this CPU; gankit through its compiled chunk of steps. Each is timed on
the wall clock (median of ``--rounds``), then traced by TensorFlow's profiler for
``--steps`` steps. The profiler's per-op self times (CPU time, summed over the threads
that ran them) are grouped two ways, in milliseconds per step:

- by network and pass: generator / discriminator forward and backward (an op inside a
  ``gradient_tape`` scope is backward; gankit's own convolution kernels' gradients
  carry no network scope and are counted as "backward, unattributed"), the optimizer
  update, the input pipeline, noise, and the rest;
- by op family: the matrix products and convolutions (oneDNN), batch norm,
  activations, data movement (casts, pads, gathers, reshapes), the optimizer, the
  input pipeline.

Unconditional only, then the work each step does: the multiply-adds of its
convolutions and dense layers under its update rule (the alternating rule passes the
fakes through the discriminator twice), the GFLOP/s each contender reaches, and this
CPU's own matrix-product peak, which bounds every contender's wall clock.

gankit's host overhead between chunks (what ``gankit train`` pays at each logging
event) is the wall time of a chunk of one step less one step of a long chunk.

On a CPU with AVX-512, ``ONEDNN_MAX_CPU_ISA=AVX2`` approximates an AVX2-only CPU (the
machine line says so). Needs GANKIT_DATA_DIR and a quiet machine.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import Pix2PixDCGAN, TutorialLoop, best_precision, plain_dcgan  # noqa: E402
from throughput import TO_IMAGE, GankitHarness, harness, parse_settings, tf  # noqa: E402
from time_to_quality import machine  # noqa: E402

FAMILIES = [  # (family, pattern on the op type), first match wins
    ("input pipeline", r"^(Dataset|IteratorGetNext|Iterator)"),
    ("optimizer", r"^ResourceApply|Adam"),
    ("conv / matmul", r"Conv|MatMul|Einsum"),
    ("batch norm", r"BatchNorm|Moments|SquaredDifference"),
    ("activations", r"Relu|Tanh|Sigmoid|Softplus|Elu"),
    ("data movement", r"Cast|Pad|Gather|Reshape|Transpose|Concat|Slice|Split|Identity|Pack"),
    ("noise", r"Random"),
    (
        "elementwise / reductions",
        r"Mul|Add|Sub|Mean|Sum|Tile|Square|Sqrt|Div|Maximum|Minimum|Neg|Exp|Log",
    ),
]


def op_rows(logdir: str) -> list[dict[str, Any]]:
    """The profiler's per-op rows (``framework_op_stats``) of the trace in ``logdir``."""
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin

    traces = sorted(glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True))
    data, ok = plugin.xspace_to_tools_data(traces[-1:], "framework_op_stats", {})
    if not ok:
        raise RuntimeError(f"the profiler could not read {traces[-1:]}")
    table = json.loads(data)[0]
    ids = [c["id"] for c in table["cols"]]
    return [dict(zip(ids, [cell["v"] for cell in row["c"]])) for row in table["rows"]]


def part(row: dict[str, Any]) -> str:
    """Which network and pass (or other part of the step) an op belongs to."""
    name, kind = row["operation"].lower(), row["type"]
    if re.search(FAMILIES[0][1], kind):
        return "input pipeline"
    if re.search(FAMILIES[1][1], kind) or "adam" in name or "optimizer" in name:
        return "optimizer update"
    if "random" in kind.lower():
        return "noise"
    backward = "gradient_tape" in name or kind.endswith("Grad")
    net = "generator" if "generator" in name else "discriminator" if "discriminator" in name else ""
    if net:
        return f"{net} {'backward' if backward else 'forward'}"
    if backward or re.search(r"conv|matmul", kind.lower()):
        # gankit's own kernels' gradients (custom gradients, no network scope)
        return "backward, unattributed"
    return "other (losses, loop, bookkeeping)"


def family(row: dict[str, Any]) -> str:
    if part(row) == "optimizer update":  # Keras's Adam is elementwise ops in its scope
        return "optimizer"
    for name, pattern in FAMILIES:
        if re.search(pattern, row["type"]):
            return name
    return "other"


def forward_multiply_adds(model: Any) -> tuple[int, int]:
    """Multiply-adds per example of ``model``'s convolutions (plain and transposed) and
    dense layers in one forward pass: the total, and the first such layer's (whose
    input gradient training does not need when its input is the data or the noise)."""
    import keras

    counts = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):  # every input pixel, every tap
            h, w, cin = layer.input.shape[1:]
            counts.append(h * w * cin * layer.filters * math.prod(layer.kernel_size))
        elif isinstance(layer, keras.layers.Conv2D):  # every output pixel, every tap
            h, w, cout = layer.output.shape[1:]
            counts.append(h * w * layer.input.shape[-1] * cout * math.prod(layer.kernel_size))
        elif isinstance(layer, keras.layers.Dense):
            counts.append(layer.input.shape[-1] * layer.units)
    return sum(counts), counts[0]


def step_multiply_adds(g: tuple[int, int], d: tuple[int, int], update: str, batch: int) -> int:
    """Multiply-adds of one unconditional GAN step (``forward_multiply_adds`` of G and D)
    under an update rule. A backward pass through a layer costs its forward twice over
    (input and weight gradients) and once when only one of them is needed.

    - G: forward; weight gradients, and input gradients all but the first layer's;
    - D on the real batch: forward; weight gradients and the input gradients they chain
      through (not the first layer's);
    - D on the fakes, ``simultaneous``: one forward and a full backward (the weights' for
      D, the input's for G); ``alternating``: that for D's update without the first
      layer's input gradient, then a second forward and an input-only backward through
      the updated D for G's.
    """
    (fg, g0), (fd, d0) = g, d
    generator = fg + 2 * fg - g0
    real = fd + 2 * fd - d0
    fakes = 3 * fd if update == "simultaneous" else (3 * fd - d0) + 2 * fd
    return batch * (generator + real + fakes)


def matmul_peak(precision: str, size: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s of a ``size``-square matrix product on every core, in ``precision``'s
    compute type (median of ``repeats``): what this CPU's math library reaches."""
    dtype = tf.bfloat16 if "bfloat16" in precision else tf.float32
    a = tf.random.normal([size, size], dtype=tf.float32)
    a = tf.cast(a, dtype)
    product = tf.function(lambda x: tf.reduce_sum(tf.cast(tf.matmul(x, x), tf.float32)))
    float(product(a))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        float(product(a))
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times) / 1e9


def profile(run: Any, steps: int) -> list[dict[str, Any]]:
    run(2)  # out of the trace: anything lazily made on first use
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        run(steps)
        tf.profiler.experimental.stop()
        return [r for r in op_rows(logdir) if r["type"] != "IDLE"]


def grouped(rows: list[dict[str, Any]], key: Any, steps: int) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for row in rows:
        out[key(row)] += row["total_self_time"] / 1000 / steps
    return dict(out)


def wall_ms(run: Any, steps: int, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run(steps)
        times.append((time.perf_counter() - start) * 1000 / steps)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=40, help="steps timed and traced")
    parser.add_argument("--rounds", type=int, default=5, help="wall-clock rounds (median)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument(
        "--task",
        choices=["unconditional", "transfer"],
        default="unconditional",
        help="unconditional: throughput.py's network against the DCGAN tutorial loop; "
        "transfer: the default style-transfer run against the pix2pix recipe at DCGAN "
        "widths",
    )
    parser.add_argument(
        "--gankit-args",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="run settings for a second gankit contender, as throughput.py's --also "
        "(e.g. update=simultaneous fast_paths=off)",
    )
    args = parser.parse_args()
    best = best_precision()
    with tempfile.TemporaryDirectory() as tmp:
        peer = (
            (
                f"tutorial loop, {best}",
                lambda: TutorialLoop(best, args.batch, to_image=TO_IMAGE).run,
            )
            if args.task == "unconditional"
            else (
                f"pix2pix DCGAN widths, {best}",
                lambda: Pix2PixDCGAN(args.batch, precision=best).run,
            )
        )
        contenders: dict[str, Any] = {
            peer[0]: peer[1](),
            "gankit defaults": harness(args.batch, {}, Path(tmp) / "a", task=args.task),
        }
        if args.gankit_args:  # parsed as throughput.py's --also (fast_paths=... included)
            extra = parse_settings(",".join(args.gankit_args))
            contenders[f"gankit {' '.join(args.gankit_args)}"] = harness(
                args.batch, extra, Path(tmp) / "b", task=args.task
            )
        walls, parts, families, overhead = {}, {}, {}, {}
        for name, contender in contenders.items():
            run = contender.run if isinstance(contender, GankitHarness) else contender
            walls[name] = wall_ms(run, args.steps, args.rounds)
            if isinstance(contender, GankitHarness):
                one = statistics.median(wall_ms(run, 1, 1) for _ in range(10 * args.rounds))
                overhead[name] = one - walls[name]
            rows = profile(run, args.steps)
            parts[name] = grouped(rows, part, args.steps)
            families[name] = grouped(rows, family, args.steps)
    names = list(contenders)
    print(f"\n{machine()}; {args.task}; batch {args.batch}; {args.steps} steps traced\n")
    print(f"{'ms per step':<38}" + "".join(f"{n[:26]:>28}" for n in names))
    print(f"{'wall clock (median of rounds)':<38}" + "".join(f"{walls[n]:>28.1f}" for n in names))
    print(
        f"{'host overhead per chunk':<38}"
        + "".join(f"{overhead[n]:>28.1f}" if n in overhead else f"{'-':>28}" for n in names)
    )
    for title, table in (("CPU time by part", parts), ("CPU time by op family", families)):
        keys = sorted(
            {k for t in table.values() for k in t}, key=lambda k: -table[names[-1]].get(k, 0)
        )
        print(f"\n{title:<38}" + "".join(f"{'':>28}" for _ in names))
        for key in keys:
            print(f"  {key:<36}" + "".join(f"{table[n].get(key, 0.0):>28.1f}" for n in names))
        print(f"  {'total':<36}" + "".join(f"{sum(table[n].values()):>28.1f}" for n in names))
    if args.task == "unconditional":
        rules = {
            n: c.trainer.config.update if isinstance(c, GankitHarness) else "simultaneous"
            for n, c in contenders.items()
        }
        print_work(rules, walls, families, args.batch, best)


def print_work(
    rules: dict[str, str],
    walls: dict[str, float],
    families: dict[str, dict[str, float]],
    batch: int,
    precision: str,
) -> None:
    """The multiply-adds each contender's step does under its update rule, and the rate
    its matrix products reach against this CPU's own matrix-product peak."""
    # every contender trains these networks (tests/test_benchmarks.py)
    g, d = (forward_multiply_adds(m) for m in plain_dcgan("float32", to_image=TO_IMAGE))
    peak = matmul_peak(precision)
    names = list(rules)
    print(
        f"\nWork per step (convolutions and dense layers, batch {batch}); this CPU's "
        f"{precision} matrix-product peak: {peak:.0f} GFLOP/s on all cores"
    )
    work = {n: step_multiply_adds(g, d, rules[n], batch) for n in names}
    rows = (
        ("update rule", lambda n: rules[n]),
        ("multiply-adds per step (billions)", lambda n: f"{work[n] / 1e9:.2f}"),
        ("GFLOP/s on the wall clock", lambda n: f"{2 * work[n] / walls[n] / 1e6:.0f}"),
        ("  share of the peak", lambda n: f"{2 * work[n] / walls[n] / 1e6 / peak:.0%}"),
        (
            "GFLOP/s per second of conv/matmul op time",
            lambda n: f"{2 * work[n] / families[n]['conv / matmul'] / 1e6:.0f}",
        ),
        ("wall clock at the peak (ms)", lambda n: f"{2 * work[n] / peak / 1e6:.1f}"),
    )
    for title, cell in rows:
        print(f"  {title:<36}" + "".join(f"{cell(n):>28}" for n in names))


if __name__ == "__main__":
    main()
