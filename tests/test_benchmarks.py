"""The benchmarks' own pieces that can be checked without real data: the peers'
networks are the ones their docstrings describe, and the time-to-quality report."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def test_the_strong_pix2pix_peer_is_a_three_level_unet_at_dcgan_widths():
    import keras
    from peers import LATENT, dcgan_conditional_discriminator, dcgan_unet_generator

    G, D = dcgan_unet_generator(), dcgan_conditional_discriminator()
    conditions = np.zeros((2, 32, 32, 4), np.float32)
    z = np.random.default_rng(0).standard_normal((2, LATENT)).astype(np.float32)
    images = np.asarray(G([conditions, z]))
    assert images.shape == (2, 32, 32, 3) and np.all(np.abs(images) <= 1)
    assert np.asarray(D([conditions, images])).shape == (2, 1)
    convs = [
        layer.filters
        for layer in G.layers
        if isinstance(layer, keras.layers.Conv2D)
        and not isinstance(layer, keras.layers.Conv2DTranspose)
    ]
    ups = [layer.filters for layer in G.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert convs == [64, 128, 256] and ups == [128, 64, 3]
    joins = [
        layer.output.shape[1:] for layer in G.layers if isinstance(layer, keras.layers.Concatenate)
    ]
    assert joins == [
        (4, 4, 256 + 16),
        (8, 8, 128 + 128),
        (16, 16, 64 + 64),
    ]  # z, then the two skips
    assert [layer.filters for layer in D.layers if isinstance(layer, keras.layers.Conv2D)] == [
        64,
        128,
        256,
    ]
    assert (
        G.count_params() < 2_000_000 and D.count_params() < 1_000_000
    )  # DCGAN-sized, not the tutorial's


def test_the_time_to_quality_table_lists_every_point_of_every_contender_and_seed():
    from time_to_quality import table

    point = {
        "step": 125,
        "seconds": 12.3,
        "psnr": 20.0,
        "l1": 0.05,
        "content_accuracy": 0.9,
        "ground_truth_accuracy": 0.97,
        "fd_ratio": 2.0,
    }
    results = {
        "tasks": {
            "transfer": {
                "0": {"gankit": [point], "pix2pix-dcgan": [point]},
                "1": {"gankit": [point, {**point, "step": 250}]},
            }
        }
    }
    rows = [
        line for line in table(results).splitlines() if line.startswith("| ") and "---" not in line
    ][1:]
    assert len(rows) == 4
    assert rows[0].startswith("| gankit | 0 | 125 | 12 | 20.00 | 0.0500 | 90.0% | 97.0% | 2.00x |")
    seconds = [{**point, "step": 125 * i, "seconds": 10.0 * i} for i in range(1, 10)]
    results = {"tasks": {"transfer": {"0": {"gankit": seconds}}}}
    rows = [
        line for line in table(results, at=[25, 60]).splitlines() if line.startswith("| gankit")
    ]
    assert [row.split(" | ")[3] for row in rows] == [
        "30",
        "60",
        "90",
    ]  # first at/after 25 s, 60 s; the last


def test_time_to_quality_compares_at_equal_seconds_interpolating_both_curves():
    from time_to_quality import compare

    ours = [
        {"seconds": s, "fd_ratio": f, "confident": 0.5}
        for s, f in ((50, 30.0), (100, 10.0), (200, 5.0))
    ]
    # the peer's curve crosses ours: behind at 60 and 100 s, ahead at 150 and 200 s (worst: 7.5
    # against 6)
    theirs = [
        {"seconds": s, "fd_ratio": f, "confident": 0.4}
        for s, f in ((60, 40.0), (150, 6.0), (300, 1.0))
    ]
    results = {"tasks": {"unconditional": {"0": {"gankit": ours, "dcgan-tutorial": theirs}}}}
    lines = compare(results).splitlines()
    assert lines[0].startswith(
        "unconditional seed 0 vs dcgan-tutorial fd_ratio: ahead at 2 of 4 points (60-200 s)"
    )
    assert lines[0].endswith("smallest lead 7.5 against 6 at 150 s")
    assert "confident: ahead at 4 of 4 points" in lines[1]


def test_pixel_fidelity_of_the_yardstick_is_gankits(monkeypatch):
    from yardstick import pixel_fidelity

    truth = np.zeros((2, 4, 4, 3))
    assert pixel_fidelity(truth + 0.2, truth)["psnr"] == pytest.approx(20.0)


def test_the_legibility_bound_composites_generated_digits_as_the_real_composites_are(monkeypatch):
    import types

    import legibility_bound
    from yardstick import compose

    rng = np.random.default_rng(0)
    digits = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    real = compose(digits, rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8), np.arange(6))
    # a "generator" that draws exactly the real digits must give exactly the real composites
    monkeypatch.setattr(
        legibility_bound,
        "gankit_generator",
        lambda run, checkpoint: (
            lambda inputs, training: real.content[: len(inputs["z"])],
            types.SimpleNamespace(latent_dim=4),
        ),
    )
    seen = []
    yardstick = types.SimpleNamespace(
        a=real, score_unconditional=lambda make: seen.append(make(6, 0)) or {}
    )
    legibility_bound.score_digits(yardstick, Path("run"), Path("checkpoint"))
    np.testing.assert_allclose(seen[0], real.image, atol=1e-6)


def test_the_held_out_halves_are_disjoint_random_halves_of_an_ordered_test_split(monkeypatch):
    import yardstick

    monkeypatch.setattr(yardstick, "HALF", 50)
    # like MNIST's test split: its first half written by one population, its second by another
    digits = np.concatenate([np.zeros((50, 28, 28)), np.full((50, 28, 28), 255)]).astype(np.uint8)
    digits[:, 0, 0] = np.arange(100)  # each digit's identity
    cifar = (
        np.repeat(np.arange(100, dtype=np.uint8)[:, None, None, None], 32, 1)
        .repeat(32, 2)
        .repeat(3, 3)
    )
    monkeypatch.setattr(
        yardstick,
        "raw_arrays",
        lambda data_dir=None: (
            {"x_test": digits, "y_test": np.arange(100) % 10},
            {"x_test": cifar},
        ),
    )
    a, b = yardstick.held_out_halves(seed=0)
    ids = [np.rint((h.content[:, 2, 2, 0] + 1) / 2 * 255).astype(int) for h in (a, b)]
    assert len(ids[0]) == len(ids[1]) == 50 and not set(ids[0]) & set(ids[1])
    assert all(np.array_equal(h.label, i % 10) for h, i in zip((a, b), ids))
    styles = [np.rint((h.style[:, 0, 0, 0] + 1) * 127.5).astype(int) for h in (a, b)]
    assert sorted([*styles[0], *styles[1]]) == list(range(100))
    for i in ids:  # both populations in each half
        assert 10 <= np.sum(i < 50) <= 40


def test_the_throughput_peers_train_the_network_gankits_contenders_train():
    """throughput.py's gankit contenders (SAME_NETWORK) and its peers (plain_dcgan) build
    the same generator and discriminator: layer by layer, the same kinds, shapes and
    parameter counts (gankit's unconditional default ends differently, and a peer
    training a dearer network would flatter gankit)."""
    import keras
    from peers import LATENT, plain_dcgan
    from throughput import SAME_NETWORK, TO_IMAGE

    import gankit
    from gankit_plugins.dcgan import build_dcgan_discriminator, build_dcgan_generator

    def layers(model):
        return [
            (type(layer).__name__, tuple(layer.output.shape), layer.count_params())
            for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer)
        ]

    spec = gankit.ModelSpec((32, 32, 3), LATENT)
    options = SAME_NETWORK["options"]
    ours = (
        build_dcgan_generator(spec, **options.get("generator", {})),
        build_dcgan_discriminator(spec, **options.get("discriminator", {})),
    )
    assert SAME_NETWORK["parts"] is False
    for mine, peer in zip(ours, plain_dcgan("float32", to_image=TO_IMAGE)):
        assert layers(mine) == layers(peer)
    assert layers(ours[0])[-2][:2] == ("Conv2DTranspose", (None, 32, 32, 3))


@pytest.mark.parametrize("cap", ["AVX2", ""])
def test_the_throughput_references_are_the_peers_best_precisions_on_this_cpu(monkeypatch, cap):
    """Under ``ONEDNN_MAX_CPU_ISA=AVX2`` (an AVX2-only CPU's approximation) bfloat16 is
    emulated: the references are the float32 peers, and the machine line says so."""
    from throughput import references
    from time_to_quality import machine

    from gankit.nn.precision import cpu_has_native_bf16

    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    from peers import best_precision

    refs = references()
    assert best_precision() == ("mixed_bfloat16" if cpu_has_native_bf16() else "float32")
    if cpu_has_native_bf16():
        assert "tutorial loop, mixed_bfloat16" in refs
    else:
        assert refs == ("tutorial loop, float32", "Keras fit() GAN, float32")
    assert ("oneDNN capped at AVX2 (bfloat16 emulated)" in machine()) == (cap == "AVX2")


def test_the_step_profile_puts_each_op_in_its_network_pass_and_family():
    """The profiler's rows, as ``framework_op_stats`` names them, grouped by part of the
    step and by op family (gankit's custom gradients carry no network scope)."""
    from step_profile import family, part

    def row(kind, name):
        return {"type": kind, "operation": name}

    cases = [
        (
            row("_MklNativeFusedConv2D", "while/dcgan_generator_1/conv0/BiasAdd"),
            "generator forward",
            "conv / matmul",
        ),
        (
            row(
                "_MklNativeConv2DBackpropFilter",
                "while/gradient_tape/while/dcgan_discriminator_1/disc_conv0_1/Conv2DBackpropFilter",
            ),
            "discriminator backward",
            "conv / matmul",
        ),
        (
            row("LeakyReluGrad", "while/dcgan_discriminator_3/disc_lrelu0_1/LeakyReluGrad"),
            "discriminator backward",
            "activations",
        ),
        (
            row("_MklMatMul", "while/body/_1/while/MatMul_7"),
            "backward, unattributed",
            "conv / matmul",
        ),
        (
            row("ResourceApplyAdam", "while/adam_1/ResourceApplyAdam_5"),
            "optimizer update",
            "optimizer",
        ),
        (row("Mul", "while/adam/Mul_3"), "optimizer update", "optimizer"),
        (row("Dataset", "Iterator::Root::Prefetch"), "input pipeline", "input pipeline"),
        (row("StatelessRandomNormalV2", "while/stateless_random_normal"), "noise", "noise"),
        (
            row("Mean", "while/Mean_2"),
            "other (losses, loop, bookkeeping)",
            "elementwise / reductions",
        ),
    ]
    for op, expected_part, expected_family in cases:
        assert (part(op), family(op)) == (expected_part, expected_family), op


def test_the_step_profile_counts_each_layers_multiply_adds_and_each_rules_passes():
    import keras
    from step_profile import forward_multiply_adds, step_multiply_adds

    x = keras.Input((4, 4, 2))
    y = keras.layers.Conv2D(4, 3, padding="same")(x)  # 16 pixels x 9 taps x 2 x 4
    y = keras.layers.Conv2DTranspose(5, 2, strides=2)(y)  # 16 inputs x 4 taps x 4 x 5
    y = keras.layers.Dense(3)(keras.layers.Flatten()(y))  # 320 x 3
    assert forward_multiply_adds(keras.Model(x, y)) == (1152 + 1280 + 960, 1152)

    g, d = (100, 10), (50, 5)
    simultaneous = step_multiply_adds(g, d, "simultaneous", 2)
    alternating = step_multiply_adds(g, d, "alternating", 2)
    assert simultaneous == 2 * ((100 + 190) + (50 + 95) + 150)
    assert alternating - simultaneous == 2 * (2 * 50 - 5)  # the second pass through D


def test_throughput_takes_more_gankit_contenders_as_run_settings():
    from throughput import parse_settings

    assert parse_settings("update=simultaneous,jit_compile=on,lr_g=0.001,fast_paths=off") == {
        "update": "simultaneous",
        "jit_compile": "on",
        "lr_g": 0.001,
        "fast_paths": "off",
    }
