"""What the image-folder cache buys, beside ``keras.utils.image_dataset_from_directory``.

``python benchmarks/image_folder.py [--files 2000] [--memory-files 6000]`` writes folders of
real photographs (scikit-image's sample images plus CIFAR-10 upscaled to 384x288, as
JPEG and as PNG) under ``--work`` and prints, on this machine:

Each speed figure is the median of ``--repeats`` interleaved runs.

- files per second of the first scan (decode + resize + write the cache), JPEG and PNG,
  at 64 and 256 pixels; Keras's figure is one epoch of its pipeline (it decodes every
  epoch: that is its cost per epoch, gankit's is once);
- the start-up time of a cached folder (scan, compare, open) against Keras's listing;
- the input pipeline's images/s at 64x64 (the trainer's own pipeline over the dataset,
  batch 64) against what ``gankit train`` consumes at 64x64, and Keras's pipeline;
- peak RSS of one epoch over a 256-pixel folder whose cache is larger than the memory
  the process is given (a cgroup-v1 memory limit when this machine allows one).

Needs the real CIFAR-10 (``GANKIT_DATA_DIR``) and scikit-image.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

KERAS_FILTER = {"interpolation": "area", "crop_to_aspect_ratio": True}


def write_photos(root: Path, n: int, fmt: str, size: tuple[int, int] = (384, 288)) -> Path:
    """``n`` photographs: scikit-image's samples, then CIFAR-10 train images upscaled."""
    from PIL import Image

    import gankit

    if root.is_dir() and len(list(root.rglob(f"*.{fmt}"))) >= n:
        return root
    root.mkdir(parents=True, exist_ok=True)
    samples = _skimage_photos()
    cifar = gankit.create("datasets", "cifar10", gankit.DataContext.from_env()).arrays()["x_train"]
    for i in range(n):
        array = samples[i] if i < len(samples) else cifar[i - len(samples)]
        image = Image.fromarray(array).convert("RGB").resize(size, Image.Resampling.BICUBIC)
        folder = root / "photos"
        folder.mkdir(exist_ok=True)
        image.save(
            folder / f"{i:06d}.{fmt}",
            **({"quality": 90} if fmt == "jpg" else {"compress_level": 6}),
        )
    return root


def _skimage_photos() -> list[np.ndarray]:
    import skimage.data as data

    out = []
    for name in (
        "astronaut",
        "coffee",
        "chelsea",
        "rocket",
        "cat",
        "camera",
        "brick",
        "grass",
        "gravel",
    ):
        array = getattr(data, name)()
        out.append(np.repeat(array[..., None], 3, axis=2) if array.ndim == 2 else array[..., :3])
    return out


def first_scan(root: Path, size: int, cache: Path) -> float:
    """Files per second of a first open (empty cache)."""
    from gankit.data import DecodeOptions, open_folder

    start = time.perf_counter()
    folder = open_folder(root, DecodeOptions(size), cache_root=cache)
    return len(folder.files) / (time.perf_counter() - start)


def keras_epoch(root: Path, size: int, batch: int = 64) -> float:
    """Images per second of one epoch of Keras's folder pipeline (decode + resize)."""
    import keras
    import tensorflow as tf

    ds = (
        keras.utils.image_dataset_from_directory(
            root,
            labels=None,
            image_size=(size, size),
            batch_size=batch,
            shuffle=True,
            seed=0,
            verbose=False,
            **KERAS_FILTER,
        )
        .map(lambda x: x / 127.5 - 1.0)
        .prefetch(tf.data.AUTOTUNE)
    )
    start, count = time.perf_counter(), 0
    for x in ds:
        count += int(x.shape[0])
    return count / (time.perf_counter() - start)


def cached_start(root: Path, size: int, cache: Path) -> float:
    import gankit

    os.environ["GANKIT_CACHE_DIR"] = str(cache)
    start = time.perf_counter()
    gankit.create("datasets", "image-folder", gankit.DataContext(), path=str(root), size=size)
    return time.perf_counter() - start


def keras_start(root: Path, size: int) -> float:
    import keras

    start = time.perf_counter()
    keras.utils.image_dataset_from_directory(
        root, labels=None, image_size=(size, size), verbose=False
    )
    return time.perf_counter() - start


def pipeline_rate(root: Path, size: int, cache: Path, batches: int = 150) -> float:
    """Images per second out of the trainer's input pipeline over the cached dataset."""
    import gankit
    from gankit.training.loop import input_pipeline

    os.environ["GANKIT_CACHE_DIR"] = str(cache)
    ds = gankit.create("datasets", "image-folder", gankit.DataContext(), path=str(root), size=size)
    it = iter(input_pipeline(ds, ["image"], batch_size=64, seed=0, epoch=0).repeat())
    next(it)
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * 64 / (time.perf_counter() - start)


def keras_pipeline_rate(root: Path, size: int, batches: int = 150) -> float:
    import keras
    import tensorflow as tf

    ds = (
        keras.utils.image_dataset_from_directory(
            root,
            labels=None,
            image_size=(size, size),
            batch_size=64,
            seed=0,
            verbose=False,
            **KERAS_FILTER,
        )
        .map(lambda x: x / 127.5 - 1.0)
        .repeat()
        .prefetch(tf.data.AUTOTUNE)
    )
    it = iter(ds)
    next(it)
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * 64 / (time.perf_counter() - start)


def trainer_rate(root: Path, size: int, cache: Path, work: Path) -> float:
    """Images per second `gankit train` consumes at ``size`` (defaults, batch 64)."""
    out = work / f"train-{size}-{time.time_ns()}"
    env = {**os.environ, "GANKIT_CACHE_DIR": str(cache)}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "gankit",
            "train",
            "--dataset",
            "image-folder",
            "-o",
            f"dataset.path={root}",
            "-o",
            f"dataset.size={size}",
            "--condition",
            "none",
            "--steps",
            "120",
            "--log-every",
            "40",
            "--sample-every",
            "1000",
            "--checkpoint-every",
            "1000",
            "--out",
            str(out),
            "--no-progress",
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return statistics.median(r["images_per_sec"] for r in records[1:])


_EPOCH = """
import os, resource, sys, time
kind, root, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
import tensorflow as tf
start = time.perf_counter(); count = 0
if kind == "gankit":
    import gankit
    from gankit.training.loop import input_pipeline
    ds = gankit.create("datasets", "image-folder", gankit.DataContext(), path=root, size=size)
    for batch in input_pipeline(ds, ["image"], batch_size=64, seed=0, epoch=0):
        count += int(batch["image"].shape[0])
else:
    import keras
    ds = keras.utils.image_dataset_from_directory(
        root, labels=None, image_size=(size, size), batch_size=64, seed=0, verbose=False,
        interpolation="area", crop_to_aspect_ratio=True)
    for batch in ds.map(lambda x: x / 127.5 - 1.0):
        count += int(batch.shape[0])
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(count, round(time.perf_counter() - start, 1), peak_mb)
"""


def epoch_rss(
    kind: str, root: Path, size: int, cache: Path, limit_mb: int | None
) -> tuple[int, float, int]:
    """(images, seconds, peak RSS MiB) of one epoch in a fresh process, inside a cgroup
    memory limit of ``limit_mb`` when given."""
    cgroup = None
    if limit_mb:
        cgroup = Path("/sys/fs/cgroup/memory") / f"gankit-bench-{os.getpid()}"
        cgroup.mkdir(exist_ok=True)
        (cgroup / "memory.limit_in_bytes").write_text(str(limit_mb * 2**20))
    env = {**os.environ, "GANKIT_CACHE_DIR": str(cache), "TF_CPP_MIN_LOG_LEVEL": "3"}

    def enter() -> None:
        if cgroup is not None:
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))

    try:
        result = subprocess.run(
            [sys.executable, "-c", _EPOCH, kind, str(root), str(size)],
            env=env,
            capture_output=True,
            text=True,
            preexec_fn=enter,
        )
    finally:
        if cgroup is not None:
            cgroup.rmdir()
    if result.returncode != 0:
        return -1, -1.0, -1
    count, seconds, rss = result.stdout.split()[-3:]
    return int(count), float(seconds), int(rss)


def cgroup_limit_available() -> bool:
    base = Path("/sys/fs/cgroup/memory")
    return base.is_dir() and os.access(base, os.W_OK)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--files", type=int, default=2000, help="files per folder for the speed figures"
    )
    parser.add_argument(
        "--memory-files", type=int, default=8500, help="files of the larger-than-memory folder"
    )
    parser.add_argument(
        "--limit-mb", type=int, default=1536, help="memory given to the larger-than-memory epoch"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of each figure (median reported)"
    )
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "gankit-bench-folders"
    )
    args = parser.parse_args()
    work = args.work
    rows = []
    med = statistics.median
    for fmt in ("jpg", "png"):
        root = write_photos(work / f"photos-{fmt}", args.files, fmt)
        for size in (64, 256):
            ours, theirs = [], []
            for _ in range(args.repeats):  # interleaved: the machine's drift hits both alike
                cache = Path(tempfile.mkdtemp(dir=work))
                ours.append(first_scan(root, size, cache))
                theirs.append(keras_epoch(root, size))
            rows.append(
                (
                    f"first scan, {fmt.upper()} at {size}",
                    f"{med(ours):.0f} files/s",
                    f"{med(theirs):.0f} files/s (every epoch)",
                )
            )
            if fmt == "jpg":
                starts = [
                    (cached_start(root, size, cache), keras_start(root, size))
                    for _ in range(args.repeats)
                ]
                rows.append(
                    (
                        f"cached start-up at {size}",
                        f"{med(a for a, _ in starts):.2f} s",
                        f"{med(b for _, b in starts):.2f} s (listing only; decodes each epoch)",
                    )
                )
            if fmt == "jpg" and size == 64:
                rates = [
                    (pipeline_rate(root, 64, cache), keras_pipeline_rate(root, 64))
                    for _ in range(args.repeats)
                ]
                pipe, keras_pipe = med(a for a, _ in rates), med(b for _, b in rates)
                train = trainer_rate(root, 64, cache, work)
                rows.append(
                    (
                        "input pipeline at 64, batch 64",
                        f"{pipe:.0f} img/s = {pipe / train:.1f}x training",
                        f"{keras_pipe:.0f} img/s = {keras_pipe / train:.1f}x training",
                    )
                )
                rows.append(("gankit train consumes at 64 (defaults)", f"{train:.0f} img/s", ""))
    big = write_photos(work / "photos-memory", args.memory_files, "jpg")
    cache = work / "memory-cache"
    limit = args.limit_mb if cgroup_limit_available() else None
    if not (cache / "image-folder").is_dir():
        first_scan(big, 256, cache)
    cache_mb = sum(p.stat().st_size for p in (cache / "image-folder").rglob("*.u8")) / 2**20
    figures = []
    for kind in ("gankit", "keras"):
        count, seconds, rss = epoch_rss(kind, big, 256, cache, limit)
        figures.append(
            f"{count} images, {seconds} s, peak RSS {rss} MiB"
            if count >= 0
            else "failed (out of memory?)"
        )
    where = f"memory limit {limit} MiB" if limit else "no memory limit available"
    rows.append((f"one epoch at 256, cache {cache_mb:.0f} MiB, {where}", *figures))
    print(f"\nimage-folder benchmark ({os.cpu_count()} cores; folders in {work})\n")
    print(
        f"| {'figure':<52} | {'gankit image-folder':<40} | "
        f"{'keras image_dataset_from_directory':<46} |"
    )
    print(f"|{'-' * 54}|{'-' * 42}|{'-' * 48}|")
    for name, ours, theirs in rows:
        print(f"| {name:<52} | {ours:<40} | {theirs:<46} |")
    print(
        f"\npeak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} "
        "MiB"
    )


if __name__ == "__main__":
    main()
