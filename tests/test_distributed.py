"""tf.distribute on CPU: Mirrored over logical devices, and two workers on localhost.

Each run is a separate `gankit train` process: logical devices and collective ops
can only be configured when TensorFlow starts. Every process is killed at the end of
its test, whatever happens.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TINY = [
    "--condition",
    "none",
    "--batch-size",
    "16",
    "--latent-dim",
    "8",
    "--precision",
    "float32",
    "-o",
    "generator.width=8",
    "-o",
    "discriminator.width=8",
]
TIMEOUT = 180  # seconds for any one process


def gankit(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gankit", "train", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so cleanup reaches children
    )


@contextlib.contextmanager
def processes() -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    try:
        yield started
    finally:
        for p in started:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)


def finish(p: subprocess.Popen) -> tuple[int, str]:
    out, _ = p.communicate(timeout=TIMEOUT)
    return p.returncode, out


def losses(run: Path) -> list[tuple[int, float, float]]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [(r["step"], r["d_loss"], r["g_loss"]) for r in rows]


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_config(ports: list[int], index: int) -> dict[str, str]:
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    return {
        "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
    }


def test_mirrored_on_two_cpu_devices_records_two_replicas(tmp_path, tiny_data):
    out = tmp_path / "R"
    with processes() as ps:
        ps.append(
            gankit(
                "--strategy",
                "mirrored",
                "--cpu-devices",
                "2",
                "--steps",
                "20",
                "--out",
                str(out),
                *TINY,
            )
        )
        code, log = finish(ps[0])
    assert code == 0, log
    info = json.loads((out / "run.json").read_text())
    assert info["replicas"] == 2 and info["strategy"] == "MirroredStrategy"
    assert info["status"] == "finished" and (out / "generator.keras").is_file()


def test_mirrored_follows_the_default_strategy_loss_trajectory(tmp_path, tiny_data):
    """Same global batch and seed: with synchronised BatchNorm the two runs do the same
    arithmetic up to summation order (tolerance 1e-4 relative); with per-replica
    BatchNorm statistics (the default) they differ slightly (within 3%)."""
    common = ["--steps", "6", "--log-every", "1", *TINY]
    runs = {
        "default": ["--strategy", "default", "--sync-batch-norm"],
        "mirrored-sync": ["--strategy", "mirrored", "--cpu-devices", "2", "--sync-batch-norm"],
        "mirrored": ["--strategy", "mirrored", "--cpu-devices", "2"],
    }
    with processes() as ps:
        for name, args in runs.items():
            ps.append(gankit(*args, "--out", str(tmp_path / name), *common))
        for p in ps:
            code, log = finish(p)
            assert code == 0, log
    reference = losses(tmp_path / "default")
    assert [r[0] for r in reference] == [1, 2, 3, 4, 5, 6]
    for (_, d0, g0), (_, d1, g1) in zip(reference, losses(tmp_path / "mirrored-sync"), strict=True):
        assert d1 == pytest.approx(d0, rel=1e-4) and g1 == pytest.approx(g0, rel=1e-4)
    for (_, d0, g0), (_, d1, g1) in zip(reference, losses(tmp_path / "mirrored"), strict=True):
        assert d1 == pytest.approx(d0, rel=0.03) and g1 == pytest.approx(g0, rel=0.03)


def multi_worker(out: Path, steps: int, ports: list[int], *extra: str) -> list[subprocess.Popen]:
    args = ["--strategy", "multi-worker", "--steps", str(steps), "--out", str(out), *TINY, *extra]
    return [gankit(*args, env=tf_config(ports, i)) for i in range(len(ports))]


def test_two_workers_train_and_only_the_chief_writes(tmp_path, tiny_data):
    out = tmp_path / "R"
    with processes() as ps:
        ps.extend(
            multi_worker(
                out,
                20,
                free_ports(2),
                "--checkpoint-every",
                "10",
                "--sample-every",
                "10",
                "--log-every",
                "5",
            )
        )
        results = [finish(p) for p in ps]
    for code, log in results:
        assert code == 0, log
    assert "non-chief" in results[1][1]
    assert sorted(p.name for p in out.iterdir()) == [
        ".lock",
        "checkpoints",
        "config.toml",
        "generator.keras",
        "metrics.jsonl",
        "run.json",
        "samples",
        "tensorboard",
    ]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "step_000010.npz",
        "step_000020.npz",
    ]
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        "step_000010.png",
        "step_000020.png",
    ]
    assert [s for s, _, _ in losses(out)] == [5, 10, 15, 20]  # one writer: no duplicated lines
    assert len(list((out / "tensorboard").iterdir())) == 1
    info = json.loads((out / "run.json").read_text())
    assert info["replicas"] == 2 and info["status"] == "finished" and info["exported_step"] == 20


def test_a_lost_worker_then_a_restart_loses_nothing_beyond_the_checkpoint(tmp_path, tiny_data):
    out = tmp_path / "R"
    every = ["--checkpoint-every", "10", "--log-every", "5", "--sample-every", "1000"]
    with processes() as ps:
        ps.extend(multi_worker(out, 100_000, free_ports(2), *every))
        deadline = time.monotonic() + TIMEOUT
        while not (out / "checkpoints" / "step_000020.npz").exists():
            assert time.monotonic() < deadline and ps[0].poll() is None, "no checkpoint at step 20"
            time.sleep(0.02)
        os.killpg(ps[1].pid, signal.SIGKILL)
        code, log = finish(ps[0])
    assert code == 1, log
    assert "lost contact with another worker" in log and "resume from step" in log
    saved = max(int(p.stem.split("_")[1]) for p in (out / "checkpoints").iterdir())
    assert saved >= 20
    before = losses(out)
    assert json.loads((out / "run.json").read_text())["status"] == "failed"

    with processes() as ps:
        ps.extend(multi_worker(out, saved + 10, free_ports(2), *every))
        results = [finish(p) for p in ps]
    for code, log in results:
        assert code == 0, log
        assert f"resuming {out} from step {saved}" in log
    after = losses(out)
    steps = [s for s, _, _ in after]
    assert steps == list(range(5, saved + 11, 5))  # continuous: nothing missing, nothing twice
    assert after[: len(steps) - 2] == [r for r in before if r[0] <= saved]
    assert json.loads((out / "run.json").read_text())["step"] == saved + 10
    assert (out / "generator.keras").is_file()


def test_multi_worker_without_tf_config_is_a_one_line_usage_error(tmp_path, tiny_data, monkeypatch):
    from click.testing import CliRunner

    from gankit.cli import cli

    monkeypatch.delenv("TF_CONFIG", raising=False)
    result = CliRunner().invoke(
        cli, ["train", "--strategy", "multi-worker", "--out", str(tmp_path / "R"), *TINY]
    )
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "needs TF_CONFIG" in result.stderr
    monkeypatch.setenv(
        "TF_CONFIG", '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}'
    )
    result = CliRunner().invoke(
        cli, ["train", "--strategy", "multi-worker", "--out", str(tmp_path / "R"), *TINY]
    )
    assert result.exit_code == 2 and "out of range" in result.stderr


def test_the_chief_is_worker_zero_unless_the_cluster_names_one():
    import tensorflow as tf

    from gankit.training.distribute import is_chief

    SimpleClusterResolver = tf.distribute.cluster_resolver.SimpleClusterResolver
    ClusterSpec = tf.train.ClusterSpec

    class Strategy:
        def __init__(self, cluster: dict, task_type: str, task_id: int) -> None:
            self.cluster_resolver = SimpleClusterResolver(
                ClusterSpec(cluster), task_type=task_type, task_id=task_id
            )

    workers = {"worker": ["a:1", "b:1"]}
    assert is_chief(Strategy(workers, "worker", 0)) and not is_chief(Strategy(workers, "worker", 1))
    with_chief = {"chief": ["c:1"], **workers}
    assert is_chief(Strategy(with_chief, "chief", 0)) and not is_chief(
        Strategy(with_chief, "worker", 0)
    )
    assert is_chief(object())  # no cluster: a single process writes
