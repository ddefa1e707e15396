"""Shared fixtures: a fresh plugin host per test, small made-up data, the real data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def make_tiny_data(folder: Path, n_train: int = 160, n_test: int = 40, seed: int = 0) -> Path:
    """Write small keras-layout mnist.npz and cifar10.npz into ``folder``.

    Digits are bright strokes on black whose position depends on the label, so a
    model can tell classes apart; "CIFAR" images are smooth random colour fields.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)

    def digits(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = np.zeros((n, 28, 28), np.uint8)
        for i, label in enumerate(y):
            col = 4 + int(label) * 2
            x[i, 4:24, col : col + 3] = 255
            x[i, 4:7, 6:22] = 128 + rng.integers(0, 127)
        return x, y

    def colours(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 10, n).astype(np.uint8)
        base = rng.integers(0, 256, (n, 1, 1, 3))
        ramp = np.linspace(0, 60, 32)[None, :, None, None]
        x = np.clip(base + ramp + rng.integers(0, 20, (n, 32, 32, 3)), 0, 255).astype(np.uint8)
        return x, y

    mx, my = digits(n_train)
    mtx, mty = digits(n_test)
    np.savez_compressed(folder / "mnist.npz", x_train=mx, y_train=my, x_test=mtx, y_test=mty)
    cx, cy = colours(n_train - 30)
    ctx, cty = colours(n_test)
    np.savez_compressed(folder / "cifar10.npz", x_train=cx, y_train=cy, x_test=ctx, y_test=cty)
    return folder


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (the default in pyproject.toml): a worker per core, at most 4. Each
    worker is a TensorFlow process of about a gigabyte, and the distributed tests start
    more processes of their own."""
    return max(1, min(os.cpu_count() or 1, 4))


@pytest.fixture
def tiny_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir with tiny made-up MNIST and CIFAR-10, set as GANKIT_DATA_DIR."""
    folder = make_tiny_data(tmp_path / "data")
    monkeypatch.setenv("GANKIT_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def real_data() -> Path:
    """The real datasets (../shared/datasets via GANKIT_DATA_DIR); skipped when absent,
    except with GANKIT_REQUIRE_DATA=1 (CI): then a test that needs them fails."""
    folder = os.environ.get("GANKIT_DATA_DIR")
    if (
        not folder
        or not (Path(folder) / "mnist.npz").is_file()
        or not (Path(folder) / "cifar10.npz").is_file()
    ):
        message = f"real MNIST/CIFAR-10 not found in GANKIT_DATA_DIR={folder!r}"
        if os.environ.get("GANKIT_REQUIRE_DATA", "") not in ("", "0"):
            pytest.fail(f"{message}, and GANKIT_REQUIRE_DATA is set")
        pytest.skip(f"{message} (set GANKIT_DATA_DIR)")
    return Path(folder)


@pytest.fixture
def host():
    """A freshly loaded plugin host (built-ins and installed entry points)."""
    from gankit.plugin.loader import load_plugins

    return load_plugins()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's plugins, or writes to their Keras cache."""
    for var in (
        "GANKIT_PLUGINS",
        "GANKIT_DISABLE_PLUGIN_AUTOLOAD",
        "GANKIT_TRACE_PLUGINS",
        "GANKIT_DEBUG",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setenv("GANKIT_CACHE_DIR", str(tmp_path / "gankit-cache"))
    monkeypatch.setenv("GANKIT_OFFLINE", "1")
