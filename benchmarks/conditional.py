"""Class-conditional against unconditional training at equal wall-clock time, on MNIST
and CIFAR-10; DCGAN against the SNGAN ResNet; projection against ACGAN.

Each configuration trains with ``gankit train`` (its defaults unless listed) for the
same number of seconds (then SIGTERM: the trainer checkpoints and stops), one at a
time, then is scored with gankit's own yardstick pieces on ``n`` test examples:

- FD ratio: the Fréchet distance in the ``classifier`` features (a CNN trained on the
  dataset's real labelled training images) between generated images and the real test
  images, over the same distance between real *training* images and the real test
  images (two disjoint real sets of the same size): 1.0 is as close as real data gets.
- class accuracy (label-conditional runs): images generated for class c read as c by
  that classifier, beside its accuracy on the real test images.

Usage::

    GANKIT_DATA_DIR=../shared/datasets python benchmarks/conditional.py --seconds 300 \\
        --out runs/bench-conditional [--only mnist-label,...]

Prints one line per configuration and writes ``results.json`` in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

CONFIGS: dict[str, list[str]] = {
    "mnist-label": ["--dataset", "mnist", "--condition", "label"],
    "mnist-none": ["--dataset", "mnist", "--condition", "none"],
    "cifar10-label": ["--dataset", "cifar10", "--condition", "label"],
    "cifar10-none": ["--dataset", "cifar10", "--condition", "none"],
    "cifar10-label-acgan": [
        "--dataset",
        "cifar10",
        "--condition",
        "label",
        "-o",
        "discriminator.labels=acgan",
    ],
    "cifar10-label-resnet": [
        "--dataset",
        "cifar10",
        "--condition",
        "label",
        "--generator",
        "resnet",
        "--discriminator",
        "resnet",
    ],
}


def train(name: str, args: list[str], seconds: float, out: Path) -> tuple[float, int]:
    """Train for ``seconds`` of wall-clock time (start-up included); the seconds taken
    and the step reached."""
    import signal

    from gankit.run.rundir import RunDir

    run = out / name
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gankit",
            "train",
            *args,
            "--steps",
            "1000000",
            "--out",
            str(run),
            "--no-progress",
            "--sample-every",
            "1000000",
            "--checkpoint-every",
            "1000000",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)  # the trainer checkpoints the step it is at
    process.wait()
    latest = RunDir(run).latest_checkpoint()
    return time.perf_counter() - started, latest[0] if latest else 0


def score(run: Path, n: int) -> dict[str, Any]:
    from gankit.eval.metrics import feature_statistics, frechet_distance
    from gankit.plugin.building import build_dataset, take_examples
    from gankit.plugin.session import current_host
    from gankit.run.models import load_generator
    from gankit.run.rundir import RunDir

    rundir = RunDir(run)
    config = rundir.read_config()
    registry = current_host().registry
    dataset = build_dataset(registry, config.dataset, config.options.get("dataset"))
    from gankit.eval.features import make_extractor
    from gankit.types import DataContext

    classifier = make_extractor(
        "classifier",
        dataset=dataset,
        dataset_key=config.dataset_key(),
        context=DataContext.from_env(),
    )
    test = take_examples(dataset, "test", n, shuffle_seed=0)
    train_real = take_examples(dataset, "train", n, shuffle_seed=1)["image"]
    generator, _ = load_generator(rundir, registry)
    z = np.random.default_rng(0).standard_normal((n, config.latent_dim)).astype(np.float32)
    inputs = {"z": z, **({"label": test["label"]} if "label" in (config.condition or []) else {})}
    fake = np.asarray(generator.predict(inputs, batch_size=500, verbose=0), np.float32)
    real_test = classifier.features(test["image"])
    fd = frechet_distance(
        *feature_statistics(classifier.features(fake)), *feature_statistics(real_test)
    )
    baseline = frechet_distance(
        *feature_statistics(classifier.features(train_real)), *feature_statistics(real_test)
    )
    result = {"fd": fd, "fd_real": baseline, "fd_ratio": fd / baseline}
    if "label" in inputs:
        result["class_accuracy"] = float(
            np.mean(classifier.probabilities(fake).argmax(1) == test["label"])
        )
        result["real_accuracy"] = float(
            np.mean(classifier.probabilities(test["image"]).argmax(1) == test["label"])
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("runs/bench-conditional"))
    parser.add_argument("--only", default=",".join(CONFIGS))
    parser.add_argument("--score-only", action="store_true", help="Score runs already in --out.")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    results: dict[str, Any] = {}
    path = args.out / "results.json"
    if path.exists():
        results = json.loads(path.read_text())
    for name in args.only.split(","):
        seconds, steps = results.get(name, {}).get("seconds"), results.get(name, {}).get("steps")
        if not args.score_only:
            seconds, steps = train(name, CONFIGS[name], args.seconds, args.out)
        results[name] = {"steps": steps, "seconds": seconds, **score(args.out / name, args.n)}
        row = results[name]
        extra = (
            f"  class accuracy {row['class_accuracy']:.3f} (real {row['real_accuracy']:.3f})"
            if "class_accuracy" in row
            else ""
        )
        print(
            f"{name:24s} {steps:6d} steps {seconds or 0:5.0f} s  FD ratio "
            f"{row['fd_ratio']:6.2f}{extra}",
            flush=True,
        )
        args.out.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2))
    import platform

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; results in "
        f"{path}"
    )


if __name__ == "__main__":
    main()
