"""The training loop's device side: the input pipeline, and one ``tf.function`` that runs
every step between two host events (logging, samples, checkpoints)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gankit.errors import TrainingError

__all__ = [
    "SHUFFLE_BUFFER",
    "check_finite",
    "shuffle_buffer",
    "MAX_SCALARS",
    "input_pipeline",
    "release_in_background",
    "TrainChunk",
    "first_set",
    "ScalarWindow",
]

SHUFFLE_BUFFER = 10_000
# at most this much of decoded examples in the shuffle buffer (mnist-cifar: 280 MiB)
SHUFFLE_BYTES = 300 * 2**20


def shuffle_buffer(element_spec: Any) -> int:
    """Examples in the shuffle buffer: :data:`SHUFFLE_BUFFER`, fewer where that many
    examples of ``element_spec`` would take more than :data:`SHUFFLE_BYTES` (256-pixel
    RGB float32 images: 400), at least 256."""
    import tensorflow as tf

    example = sum(
        int(np.prod([d or 1 for d in spec.shape])) * spec.dtype.size
        for spec in tf.nest.flatten(element_spec)
    )
    return int(max(256, min(SHUFFLE_BUFFER, SHUFFLE_BYTES // max(example, 1))))


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
    ds = ds.shuffle(
        shuffle_buffer(ds.element_spec), seed=seed * 100_003 + epoch, reshuffle_each_iteration=False
    )
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


RELEASE_DELAY_S = 1.0


def release_in_background(iterator: Any) -> None:
    """Destroy ``iterator`` on a daemon thread, a moment from now.

    Destroying a ``tf.data`` iterator that still has work in flight (an epoch's
    iterator at the epoch's end: its prefetch and map threads run ahead) waits for that
    work to be cancelled, which can hold the training thread idle for tens of seconds
    at an epoch boundary. Off the training thread it costs nothing. The caller drops its
    own reference right after the call (the delay covers a variable it is about to
    rebind).
    """
    import threading

    held = [iterator]
    del iterator

    def drop() -> None:
        time.sleep(RELEASE_DELAY_S)
        held.clear()

    threading.Thread(target=drop, name="gankit-release-iterator", daemon=True).start()


def _replica_major(value: Any, d_steps: int, replicas: int) -> Any:
    """``[d_steps * B, ...]`` (batch-major) → ``[replicas, d_steps, B / replicas, ...]``, flat."""
    import tensorflow as tf

    rest = value.shape[1:]
    value = tf.reshape(value, [d_steps, replicas, -1, *rest])
    value = tf.transpose(value, [1, 0, 2, *range(3, 3 + len(rest))])
    return tf.reshape(value, [-1, *rest])


MAX_SCALARS = 16  # d_loss, g_loss and the losses' extra scalars, per step


class TrainChunk:
    """``chunk(iterator, count)``: ``count`` steps of a replica step under a strategy, in
    one ``tf.function``; returns the sums over the steps of the step's scalars
    (``d_loss``, ``g_loss`` and the losses' extras) and the first step whose losses were
    not finite (-1: none). Scalars stay on the device until the host reads them.

    The scalars travel as one fixed-size vector, so the loop's state has the same shape
    whatever a loss logs; their names (:attr:`names`) are known once the step is traced.
    """

    def __init__(
        self,
        strategy: Any,
        replica_step: Callable[[Any], dict[str, Any]],
        step_var: Any,
        *,
        jit_compile: bool,
    ) -> None:
        import tensorflow as tf

        step = tf.autograph.experimental.do_not_convert(replica_step)
        # XLA compiles the step, not the loop around it (iterators cannot be compiled).
        self._step = tf.function(step, jit_compile=True) if jit_compile else step
        self._strategy, self._step_var = strategy, step_var
        self.names: list[str] = []
        # No autograph: plugin code's exceptions while tracing reach the caller as they
        # were raised (autograph would rewrap most of them as StagingError).
        self._chunk = tf.function(self._run, autograph=False)

    def _one_step(self, iterator: Any) -> tuple[Any, Any]:
        import tensorflow as tf

        strategy = self._strategy
        scalars = strategy.run(self._step, args=(next(iterator),))
        scalars = {k: strategy.reduce("MEAN", v, axis=None) for k, v in scalars.items()}
        if not self.names:
            self.names[:] = ["d_loss", "g_loss", *sorted(set(scalars) - {"d_loss", "g_loss"})]
            if len(self.names) > MAX_SCALARS:
                raise ValueError(
                    f"at most {MAX_SCALARS - 2} extra loss scalars can be logged, got "
                    f"{self.names[2:]}"
                )
        vector = tf.stack(
            [scalars[k] for k in self.names] + [0.0] * (MAX_SCALARS - len(self.names))
        )
        finite = tf.math.is_finite(scalars["d_loss"]) & tf.math.is_finite(scalars["g_loss"])
        bad = tf.where(finite, tf.constant(-1, tf.int64), self._step_var + 1)
        self._step_var.assign_add(1)
        return vector, bad

    def _run(self, iterator: Any, count: Any) -> tuple[Any, Any]:
        import tensorflow as tf

        def body(i: Any, sums: Any, first_bad: Any) -> tuple[Any, Any, Any]:
            vector, bad = self._one_step(iterator)
            return i + 1, sums + vector, first_set(first_bad, bad)

        start = (tf.constant(0, tf.int64), tf.zeros([MAX_SCALARS]), tf.constant(-1, tf.int64))
        _, sums, first_bad = tf.while_loop(lambda i, *_: i < count, body, start)
        return sums, first_bad

    def __call__(self, iterator: Any, count: Any) -> tuple[Any, Any]:
        return self._chunk(iterator, count)

    def get_concrete_function(self, iterator: Any, count: Any) -> Any:
        """Trace now (the clock of ``images_per_sec`` starts after this)."""
        return self._chunk.get_concrete_function(iterator, count)

    def scalars(self, sums: Any) -> dict[str, Any]:
        """``sums`` (the device vector) by name."""
        return {name: sums[i] for i, name in enumerate(self.names)}


def first_set(a: Any, b: Any) -> Any:
    """The earlier of two "first non-finite step" markers, -1 meaning unset (on device)."""
    import tensorflow as tf

    return tf.where(a >= 0, a, b)


@dataclass
class ScalarWindow:
    """Scalars summed on the device since the last logging step."""

    steps: int = 0
    sums: dict[str, Any] = field(default_factory=dict)
    first_bad: Any = None

    def add(self, count: int, sums: dict[str, Any], first_bad: Any) -> None:
        self.steps += count
        self.sums = {k: self.sums[k] + v if k in self.sums else v for k, v in sums.items()}
        self.first_bad = (
            first_bad if self.first_bad is None else first_set(self.first_bad, first_bad)
        )

    def read(self) -> tuple[dict[str, float], int]:
        """Mean scalars and the first non-finite step (-1: none); waits for the device."""
        return {k: float(v) / self.steps for k, v in self.sums.items()}, int(self.first_bad)


def check_finite(losses: dict[str, float], bad: int, step: int, last_good: int | None) -> None:
    """A ``TrainingError`` naming the step and the losses when a step of the window was
    non-finite (``bad >= 0``: the first such step) or a mean loss is."""
    if bad < 0 and all(math.isfinite(v) for v in losses.values()):
        return
    kept = (
        f"the last good checkpoint is step {last_good}"
        if last_good is not None
        else "no checkpoint had been written yet"
    )
    shown = ", ".join(f"{k}={v}" for k, v in losses.items())
    raise TrainingError(
        f"non-finite loss at step {bad if bad >= 0 else step} ({shown}); stopped; {kept}"
    )
