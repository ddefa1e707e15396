"""Choosing a ``tf.distribute`` strategy, and who writes the run directory.

gankit never distributes work itself: every strategy here is TensorFlow's own.

- ``default``: one device (the first GPU, else the CPU).
- ``mirrored``: ``MirroredStrategy`` over every local GPU, or every logical CPU device
  when there is no GPU (``--cpu-devices N`` makes N of them, as a testing aid).
- ``multi-worker``: ``MultiWorkerMirroredStrategy``; the cluster and this process's
  role come from the ``TF_CONFIG`` environment variable.
- ``auto``: ``mirrored`` when more than one GPU is visible, else ``default``.

A strategy must be made before TensorFlow runs any op (a multi-worker strategy starts
the process's gRPC server; logical devices cannot be changed once initialised), so the
CLI calls :func:`make_strategy` straight after importing TensorFlow.
"""

from __future__ import annotations

import json
import os
from typing import Any

from gankit.errors import ConfigError, GankitError
from gankit.run.config import STRATEGIES

__all__ = [
    "STRATEGIES",
    "configure_cpu_devices",
    "end_multi_worker_process",
    "make_strategy",
    "is_chief",
    "read_tf_config",
    "worker_lost_errors",
    "synchronise_batch_norm",
]


def read_tf_config() -> dict[str, Any]:
    """``TF_CONFIG`` parsed and checked: a cluster with workers and this task's role."""
    raw = os.environ.get("TF_CONFIG", "")
    if not raw.strip():
        raise ConfigError(
            "--strategy multi-worker needs TF_CONFIG, e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
            '"index": 0}}'
        )
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        members = cluster[task["type"]]
        int(task["index"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"TF_CONFIG is not valid ({type(exc).__name__}: {exc}); see docs/distributed.md"
        ) from None
    if not 0 <= int(task["index"]) < len(members):
        raise ConfigError(
            f"TF_CONFIG task index {task['index']} is out of range for {len(members)} "
            f"{task['type']}(s)"
        )
    return config


def configure_cpu_devices(count: int) -> None:
    """Split the CPU into ``count`` logical devices (before TensorFlow initialises)."""
    import tensorflow as tf

    if count < 1:
        raise ConfigError(f"--cpu-devices must be at least 1, got {count}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * count
        )
    except RuntimeError:
        current = len(tf.config.list_logical_devices("CPU"))
        if current != count:
            raise ConfigError(
                f"--cpu-devices {count}: TensorFlow is already initialised with {current} CPU "
                "device(s)"
            ) from None


def make_strategy(name: str, *, cpu_devices: int | None = None) -> Any:
    """The ``tf.distribute`` strategy ``name`` stands for on this machine."""
    import tensorflow as tf

    if name not in STRATEGIES:
        raise ConfigError(f"`strategy` must be one of {', '.join(STRATEGIES)}, got {name!r}")
    if name == "multi-worker":
        read_tf_config()  # a clear error before TensorFlow's own
    if cpu_devices:
        configure_cpu_devices(cpu_devices)
    # Physical devices: listing logical ones would initialise the runtime too early.
    gpus = tf.config.list_physical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "default"
    try:
        if name == "default":
            return tf.distribute.get_strategy()
        if name == "mirrored":
            devices = tf.config.list_logical_devices("GPU" if gpus else "CPU")
            return tf.distribute.MirroredStrategy([d.name for d in devices])
        return tf.distribute.MultiWorkerMirroredStrategy()
    except (RuntimeError, ValueError, tf.errors.OpError) as exc:
        raise GankitError(f"cannot start the {name} strategy: {exc}") from None


def is_chief(strategy: Any) -> bool:
    """Whether this process writes the run directory (always, outside multi-worker).

    The chief is the task of type ``chief``, or worker 0 when the cluster has none,
    as in Keras and TensorFlow's own multi-worker tooling.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    cluster = resolver.cluster_spec().as_dict()
    if resolver.task_type == "chief":
        return True
    return resolver.task_type == "worker" and int(resolver.task_id) == 0 and "chief" not in cluster


def end_multi_worker_process(strategy: Any) -> None:
    """After a finished multi-worker or mirrored run (everything written and flushed),
    end the process with exit code 0 without the interpreter's teardown; other
    strategies return. CI saw the abort below with both.

    TensorFlow's collective runtime can abort a worker while the interpreter tears down
    after ``MultiWorkerMirroredStrategy`` training ("terminate called after throwing an
    instance of ...", SIGABRT; tensorflow/tensorflow#55250, #56684), turning a finished
    run into exit code -6.
    """
    import logging
    import sys

    import tensorflow as tf

    if not isinstance(
        strategy, (tf.distribute.MultiWorkerMirroredStrategy, tf.distribute.MirroredStrategy)
    ):
        return
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    logging.shutdown()
    os._exit(0)


def worker_lost_errors() -> tuple[type[BaseException], ...]:
    """The TensorFlow errors a collective raises when a peer worker has gone away."""
    import tensorflow as tf

    return (
        tf.errors.UnavailableError,
        tf.errors.DeadlineExceededError,
        tf.errors.CancelledError,
        tf.errors.AbortedError,
    )


def synchronise_batch_norm(*models: Any) -> None:
    """BatchNormalization layers compute statistics over the global batch (all replicas)."""
    import keras

    pending = list(models)
    while pending:
        layer = pending.pop()
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True  # read when the layer is traced, so setting it now works
        pending.extend(getattr(layer, "layers", []))
