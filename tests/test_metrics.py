"""Metric numerics against SciPy references, the metric contract, and `gankit evaluate`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import linalg

from gankit.cli import cli
from gankit.eval.metrics import (
    channel_statistics_distance,
    classifier_score,
    feature_statistics,
    frechet_distance,
    kernel_distance,
    mmd2_unbiased,
    pixel_fidelity,
)


def reference_fd(a: np.ndarray, b: np.ndarray) -> float:
    """The straightforward formula with scipy.linalg.sqrtm (as in the original FID code)."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.mark.parametrize("n,d,shift", [(200, 8, 0.5), (500, 32, 0.0), (300, 16, 2.0)])
def test_frechet_distance_matches_the_scipy_reference(n, d, shift):
    rng = np.random.default_rng(n + d)
    mixing = rng.standard_normal((d, d))
    a = rng.standard_normal((n, d)) @ mixing
    b = rng.standard_normal((n, d)) @ (mixing * 0.8) + shift
    ours = frechet_distance(*feature_statistics(a), *feature_statistics(b))
    assert ours == pytest.approx(reference_fd(a, b), rel=1e-6)


def test_frechet_distance_is_zero_for_identical_sets_and_symmetric():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((100, 6)), rng.standard_normal((100, 6)) + 1
    stats_a, stats_b = feature_statistics(a), feature_statistics(b)
    assert frechet_distance(*stats_a, *stats_a) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(*stats_a, *stats_b) == pytest.approx(
        frechet_distance(*stats_b, *stats_a), rel=1e-9
    )
    # Two Gaussians with equal covariance: the distance is the squared mean shift.
    cov = np.eye(6)
    assert frechet_distance(np.zeros(6), cov, np.full(6, 2.0), cov) == pytest.approx(24.0)


def test_singular_covariances_give_a_real_finite_distance():
    """Fewer samples than dimensions: sqrtm of the product leaves an imaginary residue
    (and can warn); the symmetric formulation has none and stays real and finite."""
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((10, 40)), rng.standard_normal((10, 40)) * 1.5
    value = frechet_distance(*feature_statistics(a), *feature_statistics(b))
    assert isinstance(value, float) and np.isfinite(value) and value > 0
    product_root = linalg.sqrtm(np.cov(a, rowvar=False) @ np.cov(b, rowvar=False))
    assert value == pytest.approx(reference_fd(a, b), rel=1e-4)  # agrees after dropping .imag
    assert np.iscomplexobj(product_root)


def test_kid_is_unbiased_near_zero_for_one_distribution_and_positive_between_two():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((400, 16)), rng.standard_normal((400, 16))
    same, _ = kernel_distance(a, b, subsets=20, subset_size=200)
    different, spread = kernel_distance(a, b + 0.5, subsets=20, subset_size=200)
    assert abs(same) < 0.01 and different > 10 * abs(same) and spread >= 0


def test_mmd2_unbiased_matches_the_definition_with_explicit_loops():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 3)) + 0.3
    k = lambda u, v: (u @ v / 3 + 1) ** 3  # noqa: E731
    m = len(x)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    assert mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


def test_classifier_score_bounds():
    assert classifier_score(np.full((50, 10), 0.1)) == pytest.approx(1.0)
    assert classifier_score(np.eye(10)[np.arange(50) % 10]) == pytest.approx(10.0, rel=1e-6)
    assert classifier_score(np.eye(10)[np.zeros(50, int)]) == pytest.approx(1.0)


def test_channel_statistics_distance():
    a = np.zeros((2, 4, 4, 3))
    b = np.ones((2, 4, 4, 3))
    np.testing.assert_allclose(channel_statistics_distance(a, b), [np.sqrt(3)] * 2)
    assert np.all(channel_statistics_distance(a, a) == 0)


def test_pixel_fidelity_in_units_of_pixels_in_0_1():
    truth = np.random.default_rng(0).uniform(-0.8, 0.8, (3, 4, 4, 3))
    exact = pixel_fidelity(truth, truth)
    assert exact["psnr"] == pytest.approx(100.0) and exact["l1"] == 0.0
    off = pixel_fidelity(truth + 0.2, truth)  # 0.1 of the [0, 1] range everywhere: MSE 0.01
    assert off["psnr"] == pytest.approx(20.0) and off["l1"] == pytest.approx(0.1)
    one_bad = pixel_fidelity(np.concatenate([truth[:2], truth[2:] + 0.2]), truth)
    assert one_bad["psnr"] == pytest.approx((100 + 100 + 20) / 3)  # the mean over images
    with pytest.raises(ValueError, match="one shape"):
        pixel_fidelity(truth[:2], truth)


def test_batch_norm_recalibration_sets_the_population_statistics_and_keeps_the_weights():
    import keras
    import tensorflow as tf

    from gankit.eval.features import recalibrate_batch_norm

    inputs = keras.Input((4, 4, 2))
    model = keras.Model(
        inputs, keras.layers.BatchNormalization()(keras.layers.Conv2D(3, 1)(inputs))
    )
    images = np.random.default_rng(0).normal(3.0, 2.0, (96, 4, 4, 2)).astype(np.float32)
    kernel = np.array(model.layers[1].kernel)
    recalibrate_batch_norm(model, tf.data.Dataset.from_tensor_slices(images).batch(32))
    norm = model.layers[2]
    features = np.asarray(model.layers[1](images)).reshape(-1, 3)
    batches = features.reshape(3, -1, 3)  # the three batches' statistics, averaged
    np.testing.assert_allclose(norm.moving_mean, features.mean(0), rtol=1e-4)
    np.testing.assert_allclose(norm.moving_variance, batches.var(1).mean(0), rtol=1e-4)
    assert norm.momentum == 0.99 and np.array_equal(model.layers[1].kernel, kernel)


@pytest.mark.parametrize(
    "name,options",
    [
        ("psnr", {}),
        ("fid", {"extractor": "classifier"}),
        ("kid", {"extractor": "classifier", "subsets": 5}),
        ("classifier-score", {}),
        ("content-accuracy", {}),
        ("style-distance", {}),
    ],
)
def test_builtin_metrics_meet_the_contract(host, name, options):
    from gankit.testing import check_metric

    check_metric(host.registry.get("metrics", name).factory, options=options)


TINY = [
    "--batch-size",
    "8",
    "--latent-dim",
    "8",
    "--log-every",
    "3",
    "--sample-every",
    "6",
    "--checkpoint-every",
    "6",
    "-o",
    "generator.width=4",
    "-o",
    "discriminator.width=4",
]


@pytest.fixture
def tiny_run(tmp_path, tiny_data) -> Path:
    out = tmp_path / "R"
    result = CliRunner().invoke(cli, ["train", "--out", str(out), "--steps", "6", *TINY])
    assert result.exit_code == 0, result.output
    return out


def test_evaluate_prints_json_with_protocol_and_appends_to_evals(tiny_run):
    args = [
        "evaluate",
        "--run",
        str(tiny_run),
        "--metric",
        "fid",
        "--metric",
        "kid",
        "-o",
        "metric.extractor=classifier",
        "-o",
        "metric.subsets=10",
        "-n",
        "30",
        "--json",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["metric"] for r in rows] == ["fid", "kid"]
    for r in rows:
        assert np.isfinite(r["value"])
        p = r["protocol"]
        assert p["extractor"] == "classifier" and p["split"] == "test" and p["n"] == 30
        assert p["step"] == 6 and p["seed"] == 0 and p["metric"] == r["metric"]
    saved = [json.loads(line) for line in (tiny_run / "evals.jsonl").read_text().splitlines()]
    assert [s["value"] for s in saved] == [r["value"] for r in rows]
    again = CliRunner().invoke(cli, args)  # the cached classifier gives the same numbers
    assert [json.loads(line)["value"] for line in again.stdout.splitlines()] == [
        r["value"] for r in rows
    ]


def test_evaluate_conditional_metrics(tiny_run):
    result = CliRunner().invoke(
        cli,
        [
            "evaluate",
            "--run",
            str(tiny_run),
            "--metric",
            "content-accuracy",
            "--metric",
            "style-distance",
            "-n",
            "20",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "content-accuracy [classifier]:" in result.stdout and "reference" in result.stdout


def test_psnr_compares_outputs_with_the_ground_truth_of_paired_examples(
    tiny_run, tmp_path, tiny_data
):
    result = CliRunner().invoke(
        cli, ["evaluate", "--run", str(tiny_run), "--metric", "psnr", "-n", "20", "--json"]
    )
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert row["metric"] == "psnr" and 0 < row["value"] < 100 and 0 < row["l1"] < 1
    out = tmp_path / "U"
    trained = CliRunner().invoke(
        cli, ["train", "--out", str(out), "--steps", "2", "--condition", "none", *TINY]
    )
    assert trained.exit_code == 0, trained.output
    refused = CliRunner().invoke(
        cli, ["evaluate", "--run", str(out), "--metric", "psnr", "-n", "20"]
    )
    assert refused.exit_code == 2 and refused.stderr.count("\n") == 1
    assert "paired = True" in refused.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (["--metric", "fdi"], "did you mean 'fid'"),
        (["--metric", "fid", "-o", "metric.colour=red"], "no selected metric has option 'colour'"),
        (["--metric", "fid", "-o", "metric.extractor=vgg"], "extractor"),
        (["--metric", "fid", "-n", "100000"], "more than the"),
        (["--metric", "fid", "--split", "validation"], "no split 'validation'"),
    ],
)
def test_evaluate_usage_errors_are_one_line(tiny_run, args, message):
    result = CliRunner().invoke(cli, ["evaluate", "--run", str(tiny_run), *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_inception_offline_without_weights_says_how_to_provide_them(tiny_run):
    result = CliRunner().invoke(
        cli, ["evaluate", "--run", str(tiny_run), "--metric", "fid", "-n", "10"]
    )
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "InceptionV3 weights not found" in result.stderr and "--weights FILE" in result.stderr


def test_inception_with_a_weights_file(tiny_run, tmp_path):
    import keras

    weights = tmp_path / "inception.weights.h5"
    keras.utils.set_random_seed(0)
    keras.applications.InceptionV3(
        include_top=False, weights=None, input_shape=(299, 299, 3), pooling="avg"
    ).save_weights(weights)
    result = CliRunner().invoke(
        cli,
        [
            "evaluate",
            "--run",
            str(tiny_run),
            "--metric",
            "fid",
            "--metric",
            "kid",
            "-o",
            "metric.subsets=2",
            "-n",
            "8",
            "--weights",
            str(weights),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(np.isfinite(r["value"]) and r["protocol"]["extractor"] == "inception" for r in rows)
    assert rows[0]["protocol"]["options"]["weights"] == str(weights)


def test_training_evaluates_and_keeps_the_best_checkpoint(tmp_path, tiny_data):
    out = tmp_path / "R"
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--out",
            str(out),
            "--steps",
            "9",
            *TINY,
            "--eval-every",
            "3",
            "--eval-metric",
            "fid",
            "--eval-n",
            "20",
            "-o",
            "metric.extractor=classifier",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    evaluated = {r["step"]: r["fid"] for r in rows if "fid" in r}
    assert sorted(evaluated) == [3, 6, 9] and all(np.isfinite(v) for v in evaluated.values())
    assert "img/s  fid " in result.stderr  # the progress line shows the value too
    best = json.loads((out / "checkpoints" / "best.json").read_text())
    assert best["metric"] == "fid" and best["value"] == pytest.approx(
        min(evaluated.values()), rel=1e-5
    )
    assert best["step"] == min(evaluated, key=evaluated.get)
    assert (out / "checkpoints" / "best.npz").is_file()
    assert len((out / "evals.jsonl").read_text().splitlines()) == 3
    # the best checkpoint is not one of the rotating ones, and resume ignores it
    assert sorted(p.name for p in (out / "checkpoints").glob("step_*")) == [
        "step_000006.npz",
        "step_000009.npz",
    ]


def test_an_eval_metric_the_run_cannot_use_is_a_usage_error(tmp_path, tiny_data):
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--out",
            str(tmp_path / "R"),
            "--steps",
            "3",
            *TINY,
            "--condition",
            "none",
            "--eval-every",
            "3",
            "--eval-metric",
            "content-accuracy",
        ],
    )
    assert result.exit_code == 2 and "needs a run conditioned on content" in result.stderr


def test_sample_and_evaluate_can_use_the_best_checkpoint(tmp_path, tiny_data):
    out = tmp_path / "R"
    CliRunner().invoke(
        cli,
        [
            "train",
            "--out",
            str(out),
            "--steps",
            "6",
            *TINY,
            "--eval-every",
            "3",
            "--eval-n",
            "20",
            "--eval-metric",
            "classifier-score",
        ],
    )
    best = json.loads((out / "checkpoints" / "best.json").read_text())
    result = CliRunner().invoke(
        cli,
        [
            "evaluate",
            "--run",
            str(out),
            "--best",
            "--metric",
            "classifier-score",
            "-n",
            "20",
            "--seed",
            "0",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert (
        row["protocol"]["step"] == best["step"] and row["protocol"]["weights"] == "best checkpoint"
    )
    assert row["value"] == pytest.approx(best["value"], rel=1e-4)  # same weights, same protocol
    result = CliRunner().invoke(
        cli, ["sample", "--run", str(out), "--best", "-n", "4", "--out", str(tmp_path / "g.png")]
    )
    assert result.exit_code == 0 and (tmp_path / "g.png").is_file()


def test_an_unavailable_extractor_fails_before_training(tmp_path, tiny_data):
    out = tmp_path / "R"
    result = CliRunner().invoke(
        cli, ["train", "--out", str(out), "--steps", "6", *TINY, "--eval-every", "3"]
    )
    assert result.exit_code == 1 and "InceptionV3 weights not found" in result.stderr
    assert not list((out / "checkpoints").glob("*.npz"))  # no step was trained
    assert not (out / "config.toml").exists()
    again = CliRunner().invoke(
        cli, ["train", "--out", str(out), "--steps", "3", *TINY]
    )  # the folder is reusable
    assert again.exit_code == 0, again.output
