"""The quality yardstick every benchmark scores generators with.

Protocol (docs/quality.md):

- Two disjoint random halves of the **test** split: a seeded permutation of MNIST's
  10,000 test digits and another of CIFAR-10's 10,000 test images, the first 5000 of
  each paired into half A, the rest into half B. No digit and no CIFAR image is in
  both. (MNIST's test split is ordered by writer population: halved in order, the two
  halves differ, and the real-vs-real baseline was 9.5x the distance between two
  random halves: :func:`held_out_halves`.)
- Generated images come from half A's conditions (style transfer) or from noise
  (unconditional), ``n`` = 5000 of them.
- Fréchet distance (FD) of the judge's 128-d penultimate features: generated vs real
  half B. The baseline is real half A vs real half B: two disjoint real sets of the
  same size. A generator that reproduced half A's real composites exactly would score
  a ratio of 1.0; below 1.0 is noise of the protocol, not quality.
- Content accuracy: the judge's accuracy on the generated half-A images w.r.t. their
  content digit, next to its accuracy on half A's real composites (its own ceiling).
- Fidelity to the ground truth (style transfer): this task has a closed-form answer,
  ``|style - digit|`` (the dataset declares it with ``paired = True``: its ``image``
  is the rendering of its conditions), so each generated image is compared with the
  real composite of the same pair: PSNR (dB, pixels in [0, 1], averaged over images)
  and mean absolute error (L1, pixels in [0, 1]).
- Class entropy (unconditional): entropy of the mean predicted class distribution,
  over ln 10; and legibility, the share of samples the judge is confident on (top
  class probability >= 0.9), beside the same share on real half A.

The judge is a small CNN trained here on **train**-split composites, the digits
re-paired with other CIFAR images every epoch so it learns digit shape, not
backgrounds, half of them shifted, blurred or noised, beside CIFAR images with no
digit that it learns to doubt (:func:`_train_judge`); it is cached in gankit's cache
folder (``GANKIT_CACHE_DIR``, else ``~/.cache/gankit``) under ``benchmarks/``, shared
by every benchmark. Its card (in ``protocol()``) says how it reads blurred real
composites and how often it is confident on an image with no digit.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HALF = 5000
BATCH = 500
CONFIDENT = 0.9  # a sample is legible when the judge's top probability reaches this
HALVES = "random"  # how the test split is halved (held_out_halves); "ordered" before 2026-12-06
PROTOCOL_KEYS = ("n", "seed", "judge", "halves")  # figures are comparable when these agree
JUDGE_FILE = "judge-v2.keras"  # a new name when the judge's training changes


@dataclass
class Composites:
    """Real MNIST-M-style composites and what they were made of, in [-1, 1]."""

    image: np.ndarray  # (n, 32, 32, 3)
    content: np.ndarray  # (n, 32, 32, 1)
    style: np.ndarray  # (n, 32, 32, 3)
    label: np.ndarray  # (n,) the digit


def _unit_digits(x: np.ndarray) -> np.ndarray:
    return np.pad(x, ((0, 0), (2, 2), (2, 2)))[..., None].astype(np.float32) / 255.0


def composite(digit: np.ndarray, style: np.ndarray) -> np.ndarray:
    """``|style - digit|`` per channel (MNIST-M with CIFAR-10); every array in [-1, 1]."""
    return np.abs((style + 1) / 2 - (digit + 1) / 2) * 2 - 1


def compose(digits: np.ndarray, styles: np.ndarray, labels: np.ndarray) -> Composites:
    """Composites of uint8 MNIST digits and CIFAR-10 images (:func:`composite`)."""
    digit = _unit_digits(digits) * 2 - 1
    style = styles.astype(np.float32) / 127.5 - 1
    return Composites(composite(digit, style), digit, style, labels.astype(np.int64))


def raw_arrays(data_dir: str | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    import gankit
    from gankit_plugins.mnist_cifar import load_cifar10_arrays, load_mnist_arrays

    context = gankit.DataContext.from_env(data_dir)
    return load_mnist_arrays(context), load_cifar10_arrays(context)


def held_out_halves(seed: int = 0, data_dir: str | None = None) -> tuple[Composites, Composites]:
    """Halves A and B of the test split: disjoint digits, disjoint CIFAR images, each
    half a random draw from the whole split.

    Not the split in order: MNIST's first 5000 test digits come from NIST's training
    set and the last 5000 from its test set, written by other people ("the first 5000
    are cleaner and easier", MNIST's page). Halves in that order differ, so their
    distance, the FD ratio's baseline, was 9.5x that of two random halves (57.6
    against 6.1 with judge v2), and every generator's ratio looked that much closer to
    real data than it was."""
    mnist, cifar = raw_arrays(data_dir)
    rng = np.random.default_rng(seed)
    digits, styles = rng.permutation(2 * HALF), rng.permutation(2 * HALF)
    a, b = (
        compose(
            mnist["x_test"][digits[half]],
            cifar["x_test"][styles[half]],
            mnist["y_test"][digits[half]],
        )
        for half in (slice(0, HALF), slice(HALF, 2 * HALF))
    )
    return a, b


class Judge:
    """A CNN digit classifier on real composites: its features and class probabilities."""

    def __init__(self, model: Any) -> None:
        import keras

        self.model = model
        self._heads = keras.Model(
            model.inputs[0], [model.get_layer("features").output, model.outputs[0]]
        )

    @classmethod
    def load_or_train(cls, path: Path, epochs: int = 6, data_dir: str | None = None) -> Judge:
        import keras

        if path.is_file():
            return cls(keras.models.load_model(path))
        started = time.perf_counter()
        model = _train_judge(epochs, data_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path)
        print(
            f"trained the judge in {time.perf_counter() - started:.0f} s; cached at {path}",
            flush=True,
        )
        return cls(model)

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(features (n, 128), probabilities (n, 10)), float64."""
        feats, probs = [], []
        for i in range(0, len(images), BATCH):
            f, p = self._heads(np.asarray(images[i : i + BATCH], np.float32), training=False)
            feats.append(np.asarray(f))
            probs.append(np.asarray(p))
        return np.concatenate(feats).astype(np.float64), np.concatenate(probs).astype(np.float64)


def _train_judge(epochs: int, data_dir: str | None) -> Any:
    """The judge, trained to read digits a person reads and to doubt what has none.

    Each epoch pairs every training digit with another CIFAR-10 image, so it learns
    digit shape, not backgrounds. Half the composites are degraded the way a person
    still reads through (:func:`degrade`: a shift of up to 2 pixels, blur, noise), so
    the judge reads a digit by its shape rather than by the sharp edges of the
    composite; and a sixth of each epoch is CIFAR-10 images with no digit, degraded
    alike, whose target is the uniform distribution (outlier exposure, Hendrycks et
    al. 2019), so a confident reading needs a digit. Judge v1 had neither: it read
    2x-blurred real composites at 14% and was confident that 78% of plain CIFAR-10
    images were a "1".
    """
    import keras

    mnist, cifar = raw_arrays(data_dir)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(7)
    n = len(mnist["y_train"])
    inputs = keras.Input((32, 32, 3))
    x = inputs
    for filters in (32, 64, 128):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Dropout(0.3)(keras.layers.Flatten()(x))
    x = keras.layers.Dense(128, activation="relu", name="features")(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    outliers = n // 5
    for _ in range(epochs):  # each epoch: the digits with other CIFAR images
        styles = rng.integers(0, len(cifar["y_train"]), n)
        real = compose(mnist["x_train"], cifar["x_train"][styles], mnist["y_train"])
        plain = (
            cifar["x_train"][rng.integers(0, len(cifar["y_train"]), outliers)].astype(np.float32)
            / 127.5
            - 1
        )
        images = np.concatenate([real.image, plain])
        targets = np.concatenate(
            [np.eye(10, dtype=np.float32)[real.label], np.full((outliers, 10), 0.1, np.float32)]
        )
        some = rng.random(len(images)) < 0.5
        images[some] = degrade(images[some], rng)
        model.fit(images, targets, batch_size=128, epochs=1, shuffle=True, verbose=0)
    return model


def degrade(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image shifted by up to 2 pixels, and some blurred (a third at half
    resolution and back, a sixth by a 3x3 box) or given Gaussian noise (half, sigma up
    to 0.15); in [-1, 1]."""
    import tensorflow as tf

    n = len(images)
    shifts = rng.integers(-2, 3, (n, 2))
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="edge")
    rows = 2 - shifts[:, :1] + np.arange(32)[None, :]
    cols = 2 - shifts[:, 1:] + np.arange(32)[None, :]
    out = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    blur = rng.random(n)
    half = blur < 1 / 3
    if half.any():
        out[half] = half_resolution(out[half])
    box = (blur >= 1 / 3) & (blur < 0.5)
    if box.any():
        edged = np.pad(out[box], ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
        out[box] = tf.nn.avg_pool2d(edged, 3, 1, "VALID").numpy()
    noisy = rng.random(n) < 0.5
    sigma = rng.uniform(0, 0.15, (int(noisy.sum()), 1, 1, 1))
    out[noisy] += rng.standard_normal(out[noisy].shape).astype(np.float32) * sigma.astype(
        np.float32
    )
    return np.clip(out, -1, 1).astype(np.float32)


def half_resolution(images: np.ndarray) -> np.ndarray:
    """32x32 images averaged down to 16x16 and resized back (bilinear): a blur a person
    still reads a digit through."""
    import tensorflow as tf

    return tf.image.resize(tf.image.resize(images, (16, 16), "area"), (32, 32), "bilinear").numpy()


def pixel_fidelity(images: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    from gankit.eval import metrics

    return metrics.pixel_fidelity(images, truth)


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    from gankit.eval.metrics import feature_statistics, frechet_distance

    return frechet_distance(*feature_statistics(a), *feature_statistics(b))


class Yardstick:
    """Scores generators against held-out real composites (see the module docstring)."""

    def __init__(self, seed: int = 0, data_dir: str | None = None) -> None:
        from gankit.eval.features import user_cache_dir

        self.seed = seed
        self.a, self.b = held_out_halves(seed, data_dir)
        # one judge for every benchmark: trained once, cached with gankit's other models
        self.judge = Judge.load_or_train(
            user_cache_dir() / "benchmarks" / JUDGE_FILE, data_dir=data_dir
        )
        features_a, probs_a = self.judge(self.a.image)
        self.features_b, _ = self.judge(self.b.image)
        self.fd_real = frechet(features_a, self.features_b)
        self.real_accuracy = float(np.mean(probs_a.argmax(1) == self.a.label))
        self.real_confident = confident(probs_a)
        self.card = self.judge_card()

    def judge_card(self) -> dict[str, float]:
        """How the judge reads what it must and must not: half A's real composites at
        half resolution and back (a person still reads them), and half A's CIFAR-10
        images alone (no digit: a confident reading there would be a false one)."""

        _, probs = self.judge(half_resolution(self.a.image))
        _, plain = self.judge(self.a.style)
        return {
            "judge_accuracy_on_blurred_real": round(
                float(np.mean(probs.argmax(1) == self.a.label)), 4
            ),
            "judge_confident_on_blurred_real": round(confident(probs), 4),
            "judge_confident_on_no_digit": round(confident(plain), 4),
        }

    def protocol(self) -> dict[str, Any]:
        return {
            "n": HALF,
            "seed": self.seed,
            "judge": JUDGE_FILE,
            "halves": HALVES,
            "fd_real_vs_real": round(self.fd_real, 4),
            "judge_accuracy_on_real_held_out": round(self.real_accuracy, 4),
            "judge_confident_on_real_held_out": round(self.real_confident, 4),
            **self.card,
            "confidence_threshold": CONFIDENT,
        }

    def score_transfer(
        self, generate: Callable[[np.ndarray, np.ndarray], np.ndarray]
    ) -> dict[str, float]:
        """``generate(content, style) -> images`` on half A's conditions."""
        images = _batched(lambda i: generate(self.a.content[i], self.a.style[i]), HALF)
        features, probs = self.judge(images)
        fd = frechet(features, self.features_b)
        return {
            "fd": fd,
            "fd_ratio": fd / self.fd_real,
            **pixel_fidelity(images, self.a.image),
            "content_accuracy": float(np.mean(probs.argmax(1) == self.a.label)),
            "ground_truth_accuracy": self.real_accuracy,
        }

    def score_unconditional(self, generate: Callable[[int, int], np.ndarray]) -> dict[str, float]:
        """``generate(count, offset) -> images`` from noise."""
        images = _batched(lambda i: generate(i.stop - i.start, i.start), HALF)
        features, probs = self.judge(images)
        fd = frechet(features, self.features_b)
        mean = probs.mean(0)
        entropy = float(-(mean * np.log(mean + 1e-12)).sum())
        return {
            "fd": fd,
            "fd_ratio": fd / self.fd_real,
            "entropy_ratio": entropy / math.log(10),
            "confident": confident(probs),
        }


def confident(probs: np.ndarray) -> float:
    """The share of images whose top class probability is at least ``CONFIDENT``."""
    return float(np.mean(probs.max(1) >= CONFIDENT))


def _batched(make: Callable[[slice], np.ndarray], n: int) -> np.ndarray:
    return np.concatenate(
        [np.asarray(make(slice(i, min(i + BATCH, n))), np.float32) for i in range(0, n, BATCH)]
    )


def noise(count: int, offset: int, latent_dim: int, seed: int = 123) -> np.ndarray:
    """Fixed noise for the unconditional scores: the same vectors for every contender."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((offset + count, latent_dim)).astype(np.float32)[offset:]


# === gankit runs ===


def gankit_generator(run_dir: Path, checkpoint: Path | None = None) -> tuple[Any, Any]:
    """A gankit run's generator (the EMA average when the run keeps one) from
    ``checkpoint`` (default: the export or the newest checkpoint), and its config."""
    from gankit.plugin.loader import load_plugins
    from gankit.run.checkpoints import EMA_GROUP, CheckpointStore
    from gankit.run.models import build_models, load_generator
    from gankit.run.resolve import resolve_components
    from gankit.run.rundir import RunDir

    run = RunDir(Path(run_dir))
    registry = load_plugins().registry
    config = run.read_config()
    if checkpoint is None:
        return load_generator(run, registry)[0], config
    generator = build_models(config, resolve_components(config, registry)).generator
    groups = {"generator/weights": list(generator.weights)}
    if EMA_GROUP in CheckpointStore.groups(checkpoint):
        groups[EMA_GROUP] = list(generator.trainable_variables)
    CheckpointStore.load(checkpoint, groups)
    return generator, config


def score_gankit(
    yardstick: Yardstick, run_dir: Path, checkpoint: Path | None = None
) -> dict[str, float]:
    generator, config = gankit_generator(run_dir, checkpoint)
    if config.condition:

        def transfer(content: np.ndarray, style: np.ndarray) -> np.ndarray:
            z = noise(len(content), 0, config.latent_dim)
            return generator({"z": z, "content": content, "style": style}, training=False)

        return yardstick.score_transfer(transfer)
    return yardstick.score_unconditional(
        lambda count, offset: generator(
            {"z": noise(count, offset, config.latent_dim)}, training=False
        )
    )
