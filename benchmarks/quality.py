"""Sample quality of gankit's default runs, measured with a digit classifier.

    python benchmarks/quality.py                      # train both default runs, then measure
    python benchmarks/quality.py --cond-run R1 --uncond-run R2   # measure existing runs
    python benchmarks/quality.py --work runs/q-sim --train-arg=--update --train-arg=simultaneous

Needs GANKIT_DATA_DIR (real MNIST + CIFAR-10). The judge is a small CNN trained here
on real `mnist-cifar` composites (train split) to predict the digit. It reports:

- style-transfer run (conditions content,style): the fraction of `gankit sample`
  outputs (test-split conditions) classified as their content label, and the
  Fréchet distance between the classifier's penultimate features of outputs and of
  real test composites, next to the real-vs-real distance (real train vs real test
  composites) at the same sample size;
- unconditional run (--condition none): the entropy of the mean predicted class
  distribution over samples, against ln 10, and the same Fréchet figure.

Targets (issue 4): accuracy >= 95%, FD <= 3x real-vs-real, entropy >= 0.95 ln 10.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def real_composites(split: str, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    import gankit
    from gankit.plugin.building import take_examples
    from gankit_plugins.mnist_cifar import build_mnist_cifar

    dataset = build_mnist_cifar(gankit.DataContext.from_env(), seed=seed)
    return take_examples(dataset, split, n, shuffle_seed=seed)


def train_judge(cache: Path, epochs: int = 6):
    """A small CNN digit classifier on real composites; cached as a .keras file.

    Each epoch pairs the digits with other CIFAR-10 images (``repair_each_epoch``), so
    the judge learns digit shape rather than the particular backgrounds.
    """
    import keras

    import gankit
    from gankit_plugins.mnist_cifar import build_mnist_cifar

    if cache.is_file():
        return keras.models.load_model(cache)
    keras.utils.set_random_seed(0)
    dataset = build_mnist_cifar(gankit.DataContext.from_env(), seed=7, repair_each_epoch=True)
    epochs_ds = [dataset.load("train", epoch=e) for e in range(epochs)]
    train = epochs_ds[0]
    for more in epochs_ds[1:]:
        train = train.concatenate(more)
    train = train.map(lambda el: (el["image"], el["label"])).shuffle(20_000, seed=0).batch(128)
    inputs = keras.Input((32, 32, 3))
    x = inputs
    for filters in (32, 64, 128):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.3)(x)
    x = keras.layers.Dense(128, activation="relu", name="features")(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(train, epochs=1, verbose=2)
    cache.parent.mkdir(parents=True, exist_ok=True)
    model.save(cache)
    return model


def features_and_probs(model, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import keras

    extractor = keras.Model(model.inputs, [model.get_layer("features").output, model.outputs[0]])
    feats, probs = extractor.predict(images, batch_size=500, verbose=0)
    return feats.astype(np.float64), probs.astype(np.float64)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    if not np.isfinite(covmean).all():
        eps = np.eye(len(s1)) * 1e-6
        covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def gankit(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "gankit", *args], check=True)


def sample_run(run: Path, n: int) -> dict[str, np.ndarray]:
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "s.npz"
        gankit("sample", "--run", str(run), "-n", str(n), "--npz", str(npz), "--seed", "123")
        return dict(np.load(npz))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cond-run", type=Path, help="existing style-transfer run (default: train one)")
    parser.add_argument("--uncond-run", type=Path, help="existing unconditional run (default: train one)")
    parser.add_argument("--work", type=Path, default=Path("runs/quality-benchmark"))
    parser.add_argument("-n", type=int, default=5000, help="samples per measurement")
    parser.add_argument("--train-arg", action="append", default=[], metavar="ARG",
                        help="extra `gankit train` argument for both runs (repeatable), e.g. "
                        "--train-arg=--update --train-arg=simultaneous")
    args = parser.parse_args()

    timings = {}
    for name, flag, extra in (("cond", "cond_run", []), ("uncond", "uncond_run", ["--condition", "none"])):
        if getattr(args, flag) is None:
            run = args.work / name
            start = time.time()
            if not (run / "generator.keras").is_file():
                gankit("train", "--out", str(run), *extra, *args.train_arg)
            timings[name] = time.time() - start
            setattr(args, flag, run)

    judge = train_judge(args.work / "judge.keras")
    real_test = real_composites("test", args.n)
    real_train = real_composites("train", args.n, seed=1)
    f_test, p_test = features_and_probs(judge, real_test["image"])
    f_train, _ = features_and_probs(judge, real_train["image"])
    real_acc = float((p_test.argmax(1) == real_test["label"]).mean())
    fd_real = frechet_distance(f_train, f_test)

    cond = sample_run(args.cond_run, args.n)
    f_cond, p_cond = features_and_probs(judge, cond["images"])
    content_acc = float((p_cond.argmax(1) == cond["label"]).mean())
    fd_cond = frechet_distance(f_cond, f_test)

    uncond = sample_run(args.uncond_run, args.n)
    f_unc, p_unc = features_and_probs(judge, uncond["images"])
    mean_p = p_unc.mean(0)
    entropy = float(-(mean_p * np.log(mean_p + 1e-12)).sum())
    fd_unc = frechet_distance(f_unc, f_test)

    rows = [
        ("judge accuracy on real test composites", f"{real_acc:.4f}", ""),
        (f"Fréchet distance real train vs real test (n={args.n})", f"{fd_real:.3f}", ""),
        ("style transfer: content accuracy", f"{content_acc:.4f}", ">= 0.95"),
        ("style transfer: Fréchet distance to real", f"{fd_cond:.3f} ({fd_cond / fd_real:.2f}x)", "<= 3x"),
        ("unconditional: class entropy / ln 10", f"{entropy / math.log(10):.4f}", ">= 0.95"),
        ("unconditional: Fréchet distance to real", f"{fd_unc:.3f} ({fd_unc / fd_real:.2f}x)", "(reported)"),
    ]
    for name, seconds in timings.items():
        rows.append((f"{name} run: wall time of `gankit train` (s)", f"{seconds:.0f}", "<= 1200"))
    width = max(len(r[0]) for r in rows)
    for label, value, target in rows:
        print(f"{label:<{width}}  {value:>18}  {target}")
    print(json.dumps({"content_accuracy": content_acc, "fd_cond": fd_cond, "fd_uncond": fd_unc,
                      "fd_real": fd_real, "entropy_ratio": entropy / math.log(10), "train_seconds": timings}))


if __name__ == "__main__":
    main()
