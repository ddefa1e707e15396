"""The training loop's device side: the input pipeline, and one ``tf.function`` that runs
every step between two host events (logging, samples, checkpoints)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["SHUFFLE_BUFFER", "input_pipeline", "make_train_chunk", "first_set"]

SHUFFLE_BUFFER = 10_000


def input_pipeline(
    dataset: Any,
    keys: Sequence[str],
    *,
    batch_size: int,
    seed: int,
    epoch: int,
    skip_batches: int = 0,
) -> Any:
    """One epoch of global batches of ``keys``: shuffled by (seed, epoch), the first
    ``skip_batches`` skipped (a resumed run continues mid-epoch)."""
    import tensorflow as tf

    keys = list(keys)
    ds = dataset.load("train", epoch=epoch)
    ds = ds.map(lambda el: {k: el[k] for k in keys})  # dropped before shuffling: a smaller buffer
    ds = ds.shuffle(SHUFFLE_BUFFER, seed=seed * 100_003 + epoch, reshuffle_each_iteration=False)
    ds = ds.batch(batch_size, drop_remainder=True)
    if skip_batches:
        ds = ds.skip(skip_batches)
    options = tf.data.Options()
    # Each input op single-threaded: the steps' kernels need the cores more.
    options.threading.max_intra_op_parallelism = 1
    # In-memory data has no files to shard: each worker takes its slice of every
    # global batch, so workers see the same batches a single process would.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


def make_train_chunk(
    strategy: Any, replica_step: Callable[[Any], tuple[Any, Any]], step_var: Any, *, jit_compile: bool
) -> Callable[[Any, Any], tuple[Any, Any, Any]]:
    """``train_chunk(iterator, count)``: ``count`` steps of ``replica_step`` under
    ``strategy``; returns the summed d/g losses and the first non-finite step (-1: none).

    Losses stay on the device until the host reads them at a logging step.
    """
    import tensorflow as tf

    step = tf.autograph.experimental.do_not_convert(replica_step)
    # XLA compiles the step, not the loop around it (iterators cannot be compiled).
    step_fn = tf.function(step, jit_compile=True) if jit_compile else step

    @tf.function
    def train_chunk(iterator: Any, count: Any) -> tuple[Any, Any, Any]:
        d_sum = tf.constant(0.0)
        g_sum = tf.constant(0.0)
        first_bad = tf.constant(-1, tf.int64)
        for _ in tf.range(count):
            d_loss, g_loss = strategy.run(step_fn, args=(next(iterator),))
            d_loss = strategy.reduce("MEAN", d_loss, axis=None)
            g_loss = strategy.reduce("MEAN", g_loss, axis=None)
            finite = tf.math.is_finite(d_loss) & tf.math.is_finite(g_loss)
            first_bad = tf.where((first_bad < 0) & ~finite, step_var + 1, first_bad)
            d_sum += d_loss
            g_sum += g_loss
            step_var.assign_add(1)
        return d_sum, g_sum, first_bad

    return train_chunk


def first_set(a: Any, b: Any) -> Any:
    """The earlier of two "first non-finite step" markers, -1 meaning unset (on device)."""
    import tensorflow as tf

    return tf.where(a >= 0, a, b)
