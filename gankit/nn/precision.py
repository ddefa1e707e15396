"""Performance settings the trainer resolves per machine: precision and XLA.

``precision``: ``float32``, ``mixed_float16`` (loss scaling; for GPUs with Tensor
Cores) or ``mixed_bfloat16``; ``auto`` picks ``mixed_float16`` on a GPU,
``mixed_bfloat16`` on a CPU with native bfloat16 (AMX or AVX512-BF16, read from the
CPU flags at run time) and ``float32`` elsewhere. ``jit_compile`` (XLA): ``auto``
enables it where it measured faster (see docs/performance.md), ``on`` / ``off``
force it. Variables stay float32 under every policy; losses are computed in float32.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from pathlib import Path

from gankit.errors import ConfigError

__all__ = [
    "fast_paths",
    "gpu_visible",
    "PRECISIONS",
    "JIT_CHOICES",
    "cpu_has_native_bf16",
    "resolve_precision",
    "resolve_jit",
    "dtype_policy",
]

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
JIT_CHOICES = ("auto", "on", "off")
_BF16_FLAGS = {"amx_bf16", "avx512_bf16"}
# oneDNN instruction-set caps (ONEDNN_MAX_CPU_ISA) below its first bfloat16 one: under
# them oneDNN emulates bfloat16, as on a CPU without it.
_ONEDNN_ISAS_WITHOUT_BF16 = {
    "SSE41",
    "AVX",
    "AVX2",
    "AVX2_VNNI",
    "AVX2_VNNI_2",
    "AVX512_CORE",
    "AVX512_CORE_VNNI",
}


def cpu_has_native_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """Whether the CPU computes bfloat16 natively (AMX-BF16 or AVX512-BF16), and oneDNN
    may use it: ``ONEDNN_MAX_CPU_ISA=AVX2`` (or another cap below bfloat16) makes this
    CPU behave as one without, so gankit chooses as it would there."""
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    if cap in _ONEDNN_ISAS_WITHOUT_BF16:
        return False
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return bool(_BF16_FLAGS & set(line.split(":", 1)[-1].split()))
    return False


def fast_paths() -> bool:
    """Whether gankit's own kernels run (``gankit.nn.layers``' fused batch norm and, in
    bfloat16 only, matrix-product convolutions; ``gankit.nn.optimizers.Adam``'s fused
    update).

    ``GANKIT_FAST_PATHS=on`` or ``off`` decides; by default (``auto``) they run where
    they were measured faster: on a CPU, with no GPU visible (in ``mixed_bfloat16`` on
    a CPU with native bfloat16, and in float32 under ``ONEDNN_MAX_CPU_ISA=AVX2``, the
    approximation of a CPU without it). On a GPU every layer and the optimizer are
    Keras's own (docs/performance.md). Read when a model is traced.
    """
    choice = os.environ.get("GANKIT_FAST_PATHS", "auto").strip().lower()
    if choice in ("on", "1", "true"):
        return True
    if choice in ("off", "0", "false"):
        return False
    return _measured_here()


@functools.lru_cache(maxsize=1)
def _measured_here() -> bool:
    return not gpu_visible()


def gpu_visible() -> bool:
    """Whether TensorFlow sees a GPU."""
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU"))


def resolve_precision(requested: str, device_type: str) -> str:
    """The concrete policy for ``requested`` on ``device_type`` ("GPU" or "CPU")."""
    if requested not in PRECISIONS:
        raise ConfigError(f"`precision` must be one of {', '.join(PRECISIONS)}, got {requested!r}")
    if requested != "auto":
        return requested
    if device_type == "GPU":
        return "mixed_float16"
    return "mixed_bfloat16" if cpu_has_native_bf16() else "float32"


def resolve_jit(requested: str, device_type: str) -> bool:
    """Whether to XLA-compile the train step for ``requested`` on ``device_type``."""
    if requested not in JIT_CHOICES:
        raise ConfigError(
            f"`jit_compile` must be one of {', '.join(JIT_CHOICES)}, got {requested!r}"
        )
    if requested != "auto":
        return requested == "on"
    return device_type == "GPU"


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Build layers under Keras dtype policy ``name``; restore the previous one after."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
