"""Sanity of the offline FID/KID: real-vs-real must be far below noise-vs-real.

Uses the classifier extractor (trained once on mnist-cifar and cached; works offline)
and the real data from GANKIT_DATA_DIR. Prints FID and KID for: two disjoint samples
of real test composites; real vs uniform noise; real vs the CIFAR-10 style images
alone (no digit), a harder negative.

    GANKIT_DATA_DIR=../shared/datasets python benchmarks/fid_sanity.py [-n 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="images per side")
    args = parser.parse_args()

    from gankit._tf import import_tensorflow

    import_tensorflow()  # quietly
    import gankit
    from gankit.eval.features import DatasetClassifier
    from gankit.eval.metrics import feature_statistics, frechet_distance, kernel_distance
    from gankit.plugin.building import take_examples
    from gankit_plugins.mnist_cifar import build_mnist_cifar

    dataset = build_mnist_cifar(gankit.DataContext.from_env())
    started = time.perf_counter()
    classifier = DatasetClassifier.for_dataset(
        dataset,
        {"dataset": "mnist-cifar", "options": {"seed": 0, "repair_each_epoch": False}},
        log=print,
    )
    print(
        f"classifier ready in {time.perf_counter() - started:.1f} s; test accuracy "
        f"{classifier.info.get('test_accuracy')}"
    )
    examples = take_examples(dataset, "test", 2 * args.n, shuffle_seed=0)
    real_a, real_b = examples["image"][: args.n], examples["image"][args.n :]
    noise = np.random.default_rng(0).uniform(-1, 1, real_a.shape).astype(np.float32)
    styles = examples["style"][args.n :]
    feats_a = classifier.features(real_a)
    rows = []
    for name, images in (
        ("real vs real", real_b),
        ("noise vs real", noise),
        ("style only vs real", styles),
    ):
        feats = classifier.features(images)
        fid = frechet_distance(*feature_statistics(feats_a), *feature_statistics(feats))
        kid, _ = kernel_distance(feats_a, feats, subsets=50, subset_size=1000)
        rows.append((name, fid, kid))
    header = f"comparison (n={args.n} each)"
    print(f"\n{header:<28}{'FID':>12}{'KID':>12}")
    for name, fid, kid in rows:
        print(f"{name:<28}{fid:>12.4f}{kid:>12.5f}")
    ratio = rows[1][1] / max(rows[0][1], 1e-12)
    print(f"\nnoise-vs-real FID / real-vs-real FID = {ratio:.0f}x (target: >= 20x)")


if __name__ == "__main__":
    main()
