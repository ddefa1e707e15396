"""Precision and XLA defaults resolve per device and per CPU."""

from __future__ import annotations

import pytest

from gankit.errors import ConfigError
from gankit.nn import precision as performance


def write_cpuinfo(tmp_path, flags: str):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse2 {flags}\n\n")
    return path


def test_native_bf16_is_read_from_cpu_flags(tmp_path, monkeypatch):
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    assert performance.cpu_has_native_bf16(write_cpuinfo(tmp_path, "avx512f amx_bf16 amx_tile"))
    assert performance.cpu_has_native_bf16(write_cpuinfo(tmp_path, "avx512f avx512_bf16"))
    assert not performance.cpu_has_native_bf16(write_cpuinfo(tmp_path, "avx2 avx512f"))
    assert not performance.cpu_has_native_bf16(tmp_path / "missing")


@pytest.mark.parametrize(
    "cap, native", [("AVX2", False), ("avx512_core", False), ("AVX512_CORE_AMX", True), ("", True)]
)
def test_a_onednn_cap_below_bf16_makes_it_emulated(tmp_path, monkeypatch, cap, native):
    """``ONEDNN_MAX_CPU_ISA=AVX2`` on a bfloat16 CPU: gankit chooses as on an AVX2 CPU."""
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    cpuinfo = write_cpuinfo(tmp_path, "avx2 avx512f avx512_bf16 amx_bf16")
    assert performance.cpu_has_native_bf16(cpuinfo) is native


def test_auto_precision(monkeypatch):
    assert performance.resolve_precision("auto", "GPU") == "mixed_float16"
    monkeypatch.setattr(performance, "cpu_has_native_bf16", lambda: True)
    assert performance.resolve_precision("auto", "CPU") == "mixed_bfloat16"
    monkeypatch.setattr(performance, "cpu_has_native_bf16", lambda: False)
    assert performance.resolve_precision("auto", "CPU") == "float32"
    assert performance.resolve_precision("float32", "GPU") == "float32"
    with pytest.raises(ConfigError, match="`precision` must be one of"):
        performance.resolve_precision("half", "CPU")


def test_auto_jit():
    assert performance.resolve_jit("auto", "GPU") is True
    assert performance.resolve_jit("auto", "CPU") is False
    assert performance.resolve_jit("on", "CPU") is True
    assert performance.resolve_jit("off", "GPU") is False


def test_dtype_policy_is_restored():
    import keras

    before = keras.config.dtype_policy().name
    with performance.dtype_policy("mixed_bfloat16"):
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
        layer = keras.layers.Dense(2)
    assert keras.config.dtype_policy().name == before
    assert layer.compute_dtype == "bfloat16" and layer.variable_dtype == "float32"
