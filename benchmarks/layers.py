"""Per-layer timings behind gankit.nn.layers: convolutions and batch norm, Keras vs gankit.

    python benchmarks/layers.py [--batch 64] [--rounds 5]

For each strided convolution of the 32x32 DCGAN (width 64) it times:

- the filter (weight) gradient three ways: oneDNN's ``Conv2DBackpropFilter`` in
  float32 and in bfloat16, and ``gankit.nn.layers.filter_gradient`` (patches + one matrix
  product) in bfloat16;
- a training step of the layer (forward pass, input and filter gradients):
  ``keras.layers.Conv2D`` / ``Conv2DTranspose`` in float32 and under
  ``mixed_bfloat16``, and the ``gankit.nn.layers`` one under ``mixed_bfloat16``.

For each batch norm shape it times a training forward + backward pass of
``keras.layers.BatchNormalization`` and of ``gankit.nn.layers.BatchNormalization`` under
``mixed_bfloat16``. Milliseconds, medians of ``--rounds``; compare within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from gankit._tf import import_tensorflow  # noqa: E402

tf = import_tensorflow()
import keras  # noqa: E402

from gankit.nn import layers as fast  # noqa: E402
from gankit.nn.precision import dtype_policy  # noqa: E402

# (name, conv input H, input channels, output channels, transposed); a transposed
# conv is listed as the convolution from its output back to its input, whose input
# gradient it computes
CONVS = [
    ("D conv0 32x32 3->64", 32, 3, 64, False),
    ("D conv1 16x16 64->128", 16, 64, 128, False),
    ("D conv2 8x8 128->256", 8, 128, 256, False),
    ("G convT0 4x4 256->128", 8, 128, 256, True),
    ("G convT1 8x8 128->64", 16, 64, 128, True),
    ("G convT2 16x16 64->3", 32, 3, 64, True),
]
BATCH_NORMS = [("4x4x256", 4, 256), ("8x8x128", 8, 128), ("16x16x64", 16, 64)]


def timed(fn: Callable[[], Any], rounds: int, repeats: int = 20) -> float:
    """Median milliseconds per call of ``fn`` (a traced tf.function), warm-up excluded."""
    fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            out = fn()
        tf.nest.flatten(out)[0].numpy()
        times.append((time.perf_counter() - start) / repeats * 1000)
    return statistics.median(times)


def filter_gradients(batch: int, rounds: int) -> None:
    print(
        f"{'filter gradient, batch ' + str(batch):<26} {'oneDNN f32':>11} {'oneDNN bf16':>12} "
        f"{'gankit bf16':>12}"
    )
    for name, size, cin, cout, _ in CONVS:
        row = []
        for dtype in (tf.float32, tf.bfloat16):
            x = tf.cast(tf.random.normal([batch, size, size, cin]), dtype)
            dy = tf.cast(tf.random.normal([batch, size // 2, size // 2, cout]), dtype)
            native = tf.function(
                lambda x=x, dy=dy, cin=cin, cout=cout: tf.raw_ops.Conv2DBackpropFilter(
                    input=x,
                    filter_sizes=[4, 4, cin, cout],
                    out_backprop=dy,
                    strides=[1, 2, 2, 1],
                    padding="SAME",
                )
            )
            row.append(timed(native, rounds))
        matmul = tf.function(lambda x=x, dy=dy: fast.filter_gradient(x, dy, 4, 2))
        row.append(timed(matmul, rounds))
        print(f"{name:<26} {row[0]:>11.2f} {row[1]:>12.2f} {row[2]:>12.2f}")


def _training_step(layer: Any, x: Any) -> Callable[[], Any]:
    """Forward pass and all gradients of ``layer``; the loss is quadratic, so the output
    gradient is the output (a linear loss would let the forward pass be pruned)."""

    @tf.function
    def step() -> Any:
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.square(tf.cast(layer(x, training=True), tf.float32))) / 2
        return tape.gradient(loss, [x, *layer.trainable_weights])

    return step


def conv_steps(batch: int, rounds: int) -> None:
    print(
        f"\n{'conv fwd+bwd, batch ' + str(batch):<26} {'Keras f32':>11} {'Keras bf16':>12} "
        f"{'gankit bf16':>12}"
    )
    for name, size, cin, cout, transposed in CONVS:
        # the layer's own input: the conv's input, or the transposed conv's (smaller) one
        shape, filters = (
            ([size // 2, size // 2, cout], cin) if transposed else ([size, size, cin], cout)
        )
        row = []
        for policy, family in (
            ("float32", keras.layers),
            ("mixed_bfloat16", keras.layers),
            ("mixed_bfloat16", fast),
        ):
            cls = family.Conv2DTranspose if transposed else family.Conv2D
            with dtype_policy(policy):
                layer = cls(filters, 4, strides=2, padding="same", use_bias=False)
                layer.build((batch, *shape))
            x = tf.cast(tf.random.normal([batch, *shape]), layer.compute_dtype)
            row.append(timed(_training_step(layer, x), rounds))
        print(f"{name:<26} {row[0]:>11.2f} {row[1]:>12.2f} {row[2]:>12.2f}")


def batch_norms(batch: int, rounds: int) -> None:
    print(f"\n{'batch norm fwd+bwd, bf16':<26} {'Keras':>11} {'gankit':>12}")
    for name, size, channels in BATCH_NORMS:
        row = []
        for cls in (keras.layers.BatchNormalization, fast.BatchNormalization):
            with dtype_policy("mixed_bfloat16"):
                layer = cls()
                layer.build((batch, size, size, channels))
            x = tf.cast(tf.random.normal([batch, size, size, channels]), tf.bfloat16)
            row.append(timed(_training_step(layer, x), rounds))
        print(f"{name:<26} {row[0]:>11.2f} {row[1]:>12.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    filter_gradients(args.batch, args.rounds)
    conv_steps(args.batch, args.rounds)
    batch_norms(args.batch, args.rounds)


if __name__ == "__main__":
    main()
