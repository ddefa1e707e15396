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
    skip_steps: int = 0,
    d_steps: int = 1,
    replicas: int = 1,
) -> Any:
    """One epoch of step batches of ``keys``: shuffled by (seed, epoch), the first
    ``skip_steps`` skipped (a resumed run continues mid-epoch).

    A step batch holds the ``d_steps`` global batches of one training step. It is laid
    out so that ``tf.distribute``, which gives replica ``r`` the ``r``-th contiguous
    slice, gives each replica its slice of every one of those batches, in order: the
    replica step splits it into ``d_steps`` parts, and N replicas see the same batches
    as one.
    """
    import tensorflow as tf

    keys = list(keys)
    ds = dataset.load("train", epoch=epoch)
    ds = ds.map(lambda el: {k: el[k] for k in keys})  # dropped before shuffling: a smaller buffer
    ds = ds.shuffle(SHUFFLE_BUFFER, seed=seed * 100_003 + epoch, reshuffle_each_iteration=False)
    ds = ds.batch(batch_size * d_steps, drop_remainder=True)
    if d_steps > 1 and replicas > 1:
        ds = ds.map(lambda el: {k: _replica_major(v, d_steps, replicas) for k, v in el.items()})
    if skip_steps:
        ds = ds.skip(skip_steps)
    options = tf.data.Options()
    # Each input op single-threaded: the steps' kernels need the cores more.
    options.threading.max_intra_op_parallelism = 1
    # In-memory data has no files to shard: each worker takes its slice of every
    # global batch, so workers see the same batches a single process would.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


def _replica_major(value: Any, d_steps: int, replicas: int) -> Any:
    """``[d_steps * B, ...]`` (batch-major) → ``[replicas, d_steps, B / replicas, ...]``, flat."""
    import tensorflow as tf

    rest = value.shape[1:]
    value = tf.reshape(value, [d_steps, replicas, -1, *rest])
    value = tf.transpose(value, [1, 0, 2, *range(3, 3 + len(rest))])
    return tf.reshape(value, [-1, *rest])


def make_train_chunk(
    strategy: Any, replica_step: Callable[[Any], dict[str, Any]], step_var: Any, *, jit_compile: bool
) -> Callable[[Any, Any], tuple[dict[str, Any], Any]]:
    """``train_chunk(iterator, count)``: ``count`` steps of ``replica_step`` under
    ``strategy``; returns the sums of its scalars over the steps (``d_loss``, ``g_loss``
    and the losses' extras) and the first step whose losses were not finite (-1: none).

    Scalars stay on the device until the host reads them at a logging step.
    """
    import tensorflow as tf

    step = tf.autograph.experimental.do_not_convert(replica_step)
    # XLA compiles the step, not the loop around it (iterators cannot be compiled).
    step_fn = tf.function(step, jit_compile=True) if jit_compile else step

    def one_step(iterator: Any) -> tuple[dict[str, Any], Any]:
        scalars = strategy.run(step_fn, args=(next(iterator),))
        scalars = {k: strategy.reduce("MEAN", v, axis=None) for k, v in scalars.items()}
        finite = tf.math.is_finite(scalars["d_loss"]) & tf.math.is_finite(scalars["g_loss"])
        bad = tf.where(finite, tf.constant(-1, tf.int64), step_var + 1)
        step_var.assign_add(1)
        return scalars, bad

    # No autograph: plugin code's exceptions while tracing reach the caller as they were
    # raised (autograph would rewrap most of them as StagingError).
    @tf.function(autograph=False)
    def train_chunk(iterator: Any, count: Any) -> tuple[dict[str, Any], Any]:
        # The first step runs before the loop: the losses' extra scalars, whose names
        # the loop's state needs, are known only once the step is traced.
        sums, first_bad = one_step(iterator)

        def body(i: Any, sums: dict[str, Any], first_bad: Any) -> tuple[Any, dict[str, Any], Any]:
            scalars, bad = one_step(iterator)
            return i + 1, {k: sums[k] + scalars[k] for k in sums}, first_set(first_bad, bad)

        start = tf.constant(1, tf.int64)
        _, sums, first_bad = tf.while_loop(lambda i, *_: i < count, body, (start, sums, first_bad))
        return sums, first_bad

    return train_chunk


def first_set(a: Any, b: Any) -> Any:
    """The earlier of two "first non-finite step" markers, -1 meaning unset (on device)."""
    import tensorflow as tf

    return tf.where(a >= 0, a, b)
