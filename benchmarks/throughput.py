"""Training throughput: gankit's trainer against hand-written loops on the same models.

    python benchmarks/throughput.py [--rounds 5] [--steps 60] [--batch-sizes 64 256]

Models: the built-in unconditional DCGAN at 32x32 (``--condition none`` on
mnist-cifar's composites), built by the same factories for every contender.
Contenders, measured in alternating rounds (A B C A B C ...), the first round of each
excluded as warm-up (tracing, XLA compilation, shuffle-buffer fill):

- ``gankit float32 simultaneous``: ``Trainer.run`` exactly as ``gankit train`` runs
  it, in float32 with the tutorial's update (``--update simultaneous``), to compare
  like with like; images/s taken from its own metrics.jsonl windows;
- ``gankit float32 alternating``: the same with the alternating update;
- ``gankit default``: ``gankit train``'s defaults (precision and update resolved for
  this machine);
- ``gankit default, simultaneous``: the defaults with ``--update simultaneous``;
- ``reference``: TensorFlow's DCGAN tutorial loop, one ``tf.function`` step with two
  ``GradientTape``s, float32;
- ``train_on_batch``: the Keras ``train_on_batch`` + ``predict`` loop of the seed
  article's style, float32.

It also prints the data pipeline's throughput alone, the peak RSS of one ``gankit train``
run at the largest batch size (a subprocess, the full datasets loaded) and that of this
process (which builds every contender's models, round after round). Needs
GANKIT_DATA_DIR (real data) and a quiet machine; compare ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from gankit._tf import import_tensorflow  # noqa: E402

tf = import_tensorflow()
import keras  # noqa: E402

from gankit.plugin.loader import load_plugins  # noqa: E402
from gankit.run.config import merge_config  # noqa: E402
from gankit.run.models import model_spec  # noqa: E402
from gankit.run.resolve import resolve_components  # noqa: E402
from gankit.run.rundir import RunDir  # noqa: E402
from gankit.train.trainer import Trainer  # noqa: E402

LATENT = 100


def shared_dataset(registry: Any) -> Any:
    """One dataset object (one copy of the arrays) for every contender."""
    config = merge_config({"condition": "none"})
    return resolve_components(config, registry)


def gankit_contender(registry: Any, dataset: Any, batch: int, steps: int, overrides: dict[str, Any]) -> Callable[[], float]:
    """One round = a fresh ``Trainer.run`` for ``steps`` steps; images/s of its windows."""
    window = max(steps // 3, 1)

    def round_() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            config = merge_config({
                "condition": "none", "batch_size": batch, "steps": window * 4, "log_every": window,
                "sample_every": 10**9, "checkpoint_every": 10**9, **overrides,
            })
            resolve_components(config, registry)  # fills in defaults; the dataset is shared
            trainer = Trainer(config, registry, dataset, RunDir(Path(tmp) / "run"), live_progress=False)
            result = trainer.run(0)
            # the first window holds tracing and the shuffle-buffer fill
            return statistics.median(r["images_per_sec"] for r in result.records[1:])

    return round_


def plain_setup(registry: Any, dataset: Any, batch: int) -> tuple[Any, Any, Any]:
    """float32 G and D from the built-in factories, and a repeating image dataset."""
    config = merge_config({"condition": "none", "batch_size": batch})
    resolve_components(config, registry)
    spec = model_spec(config, dataset)
    keras.utils.set_random_seed(0)
    G = registry.get("generators", "dcgan").factory(spec)
    D = registry.get("discriminators", "dcgan").factory(spec)
    images = dataset.load("train").map(lambda el: el["image"]).shuffle(10_000).repeat()
    return G, D, images.batch(batch, drop_remainder=True)


def reference_contender(registry: Any, dataset: Any, batch: int, steps: int) -> Callable[[], float]:
    """TensorFlow's DCGAN tutorial loop on the same models and data."""
    G, D, batches = plain_setup(registry, dataset, batch)
    g_opt, d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    iterator = iter(batches.prefetch(tf.data.AUTOTUNE))

    @tf.function
    def train_step(real: Any) -> Any:
        noise = tf.random.normal([batch, LATENT])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            fake = G({"z": noise}, training=True)
            real_out = D({"image": real}, training=True)
            fake_out = D({"image": fake}, training=True)
            gen_loss = bce(tf.ones_like(fake_out), fake_out)
            disc_loss = bce(tf.ones_like(real_out), real_out) + bce(tf.zeros_like(fake_out), fake_out)
        g_opt.apply_gradients(zip(gen_tape.gradient(gen_loss, G.trainable_variables), G.trainable_variables))
        d_opt.apply_gradients(zip(disc_tape.gradient(disc_loss, D.trainable_variables), D.trainable_variables))
        return disc_loss

    train_step(next(iterator))  # trace outside the timing

    def round_() -> float:
        start = time.perf_counter()
        for _ in range(steps):
            loss = train_step(next(iterator))
        float(loss)
        return steps * batch / (time.perf_counter() - start)

    return round_


def train_on_batch_contender(registry: Any, dataset: Any, batch: int, steps: int) -> Callable[[], float]:
    """The Keras style: D.train_on_batch on real and fake, then the stacked GAN."""
    G, D, batches = plain_setup(registry, dataset, batch)
    D.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.losses.BinaryCrossentropy(from_logits=True))
    D.trainable = False
    z = keras.Input((LATENT,), name="z")
    gan = keras.Model({"z": z}, D({"image": G({"z": z})}))
    gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.losses.BinaryCrossentropy(from_logits=True))
    D.trainable = True
    iterator = iter(batches.as_numpy_iterator())
    ones, zeros = np.ones((batch, 1), np.float32), np.zeros((batch, 1), np.float32)
    rng = np.random.default_rng(0)

    def step() -> None:
        noise = rng.standard_normal((batch, LATENT)).astype(np.float32)
        fake = G.predict({"z": noise}, verbose=0, batch_size=batch)
        D.train_on_batch({"image": next(iterator)}, ones)
        D.train_on_batch({"image": fake}, zeros)
        gan.train_on_batch({"z": rng.standard_normal((batch, LATENT)).astype(np.float32)}, ones)

    step()

    def round_() -> float:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        return steps * batch / (time.perf_counter() - start)

    return round_


def pipeline_throughput(registry: Any, dataset: Any, batch: int, batches: int = 400) -> float:
    """Images/s of the trainer's input pipeline alone (no model)."""
    batches = min(batches, dataset.splits["train"] // batch - 25)  # stay within one epoch
    with tempfile.TemporaryDirectory() as tmp:
        config = merge_config({"condition": "none", "batch_size": batch})
        resolve_components(config, registry)
        trainer = Trainer(config, registry, dataset, RunDir(Path(tmp)), live_progress=False)
        ds = trainer.input_pipeline(epoch=0, skip_steps=0)
        it = iter(ds)
        for _ in range(20):
            next(it)
        start = time.perf_counter()
        for _ in range(batches):
            next(it)
        return batches * batch / (time.perf_counter() - start)


# Runs the CLI, then prints the process's peak RSS (VmHWM, kB). ``ru_maxrss`` would not
# do: it carries over the forked parent's size across exec.
_PEAK_RSS_OF_CLI = """
import sys
from gankit.cli import main
try:
    main()  # click reads sys.argv
finally:
    status = open("/proc/self/status").read()
    print(next(l.split()[1] for l in status.splitlines() if l.startswith("VmHWM")), file=sys.stderr)
"""


def train_run_peak_rss_gb(batch: int, steps: int = 40) -> float:
    """Peak RSS of a ``gankit train --condition none`` subprocess with the defaults."""
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [sys.executable, "-c", _PEAK_RSS_OF_CLI, "train", "--condition", "none", "--steps",
             str(steps), "--batch-size", str(batch), "--out", str(Path(tmp) / "run")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
    if result.returncode != 0:
        raise RuntimeError(f"gankit train failed: {result.stderr[-2000:]}")
    return int(result.stderr.strip().splitlines()[-1]) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per contender")
    parser.add_argument("--steps", type=int, default=60, help="steps per round at batch 64 (scaled by 64/batch)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    args = parser.parse_args()
    registry = load_plugins().registry
    dataset = shared_dataset(registry)

    rows = []
    for batch in args.batch_sizes:
        steps = max(args.steps * 64 // batch, 12)
        contenders = {
            "gankit float32 simultaneous": gankit_contender(
                registry, dataset, batch, steps, {"precision": "float32", "update": "simultaneous"}),
            "gankit float32 alternating": gankit_contender(
                registry, dataset, batch, steps, {"precision": "float32", "update": "alternating"}),
            "gankit default": gankit_contender(registry, dataset, batch, steps, {}),
            "gankit default, simultaneous": gankit_contender(
                registry, dataset, batch, steps, {"update": "simultaneous"}),
            "reference (tf.function, float32)": reference_contender(registry, dataset, batch, steps),
        }
        if batch == args.batch_sizes[0]:
            contenders["train_on_batch (float32)"] = train_on_batch_contender(registry, dataset, batch, max(steps // 3, 5))
        results: dict[str, list[float]] = {name: [] for name in contenders}
        for round_index in range(args.rounds + 1):
            for name, run_round in contenders.items():
                value = run_round()
                if round_index > 0 or name.startswith("gankit"):  # gankit drops its own warm-up window
                    results[name].append(value)
                print(f"  batch {batch} round {round_index} {name}: {value:.1f} img/s", flush=True)
        medians = {name: statistics.median(values) for name, values in results.items()}
        reference = medians["reference (tf.function, float32)"]
        for name, value in medians.items():
            rows.append((batch, name, value, value / reference))
        rows.append((batch, "data pipeline alone", pipeline_throughput(registry, dataset, batch), None))

    print()
    print(f"{'batch':>5}  {'contender':<34} {'images/s':>10}  {'vs reference':>12}")
    for batch, name, value, ratio in rows:
        ratio_text = f"{ratio:.2f}x" if ratio is not None else ""
        print(f"{batch:>5}  {name:<34} {value:>10.1f}  {ratio_text:>12}")
    print(f"\npeak RSS of one `gankit train` run at batch {max(args.batch_sizes)}: "
          f"{train_run_peak_rss_gb(max(args.batch_sizes)):.2f} GB")
    peak_rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak RSS of this benchmark process: {peak_rss_gb:.2f} GB")


if __name__ == "__main__":
    main()
