"""The built-in losses and the R1 penalty: values against NumPy formulas (TF-GAN's shape:
shared inputs, one expected value per family), and the contract kit on each."""

from __future__ import annotations

import numpy as np
import pytest

import gankit
from gankit.testing import check_loss, check_penalty
from gankit_plugins import losses as L
from gankit_plugins.penalties import build_r1_penalty, r1_penalty

REAL = np.array([[1.5], [-0.5], [0.25], [2.0]], np.float32)
FAKE = np.array([[-1.0], [0.5], [-2.0], [0.0]], np.float32)


def softplus(x):
    return np.log1p(np.exp(x))


EXPECTED = {
    "hinge": (
        L.hinge_discriminator_loss(REAL, FAKE),
        np.mean(np.maximum(0, 1 - REAL)) + np.mean(np.maximum(0, 1 + FAKE)),
        L.hinge_generator_loss(FAKE),
        -np.mean(FAKE),
    ),
    "wasserstein": (
        L.wasserstein_discriminator_loss(REAL, FAKE),
        np.mean(FAKE) - np.mean(REAL),
        L.wasserstein_generator_loss(FAKE),
        -np.mean(FAKE),
    ),
    "least-squares": (
        L.least_squares_discriminator_loss(REAL, FAKE),
        0.5 * np.mean((REAL - 1) ** 2) + 0.5 * np.mean(FAKE**2),
        L.least_squares_generator_loss(FAKE),
        0.5 * np.mean((FAKE - 1) ** 2),
    ),
    "relativistic-average": (
        L.relativistic_average_discriminator_loss(REAL, FAKE),
        np.mean(softplus(-(REAL - FAKE.mean()))) + np.mean(softplus(FAKE - REAL.mean())),
        L.relativistic_average_generator_loss(REAL, FAKE),
        np.mean(softplus(-(FAKE - REAL.mean()))) + np.mean(softplus(REAL - FAKE.mean())),
    ),
}


@pytest.mark.parametrize("family", EXPECTED)
def test_values_match_the_formulas(family):
    d_value, d_expected, g_value, g_expected = EXPECTED[family]
    assert float(d_value) == pytest.approx(float(d_expected), rel=1e-6)
    assert float(g_value) == pytest.approx(float(g_expected), rel=1e-6)


@pytest.mark.parametrize("name", ["minimax", "hinge", "wgan-gp", "lsgan", "ragan"])
def test_builtin_losses_meet_the_contract(name):
    check_loss(next(c for c in gankit.registered("losses") if c.name == name).factory)


def test_r1_meets_the_contract_and_matches_its_formula():
    check_penalty(build_r1_penalty)
    import keras

    weights = np.arange(12, dtype=np.float32).reshape(12, 1) / 10
    d = keras.Sequential(
        [keras.Input((2, 2, 3)), keras.layers.Flatten(), keras.layers.Dense(1, use_bias=False)]
    )
    d.layers[-1].set_weights([weights])

    def discriminator(inputs, training=None):
        return d(inputs["image"], training=training)

    x = np.random.default_rng(0).uniform(-1, 1, (5, 2, 2, 3)).astype(np.float32)
    # a linear D's input gradient is its weight vector: ||w||^2 for every example
    assert float(r1_penalty(discriminator, x, {})) == pytest.approx(
        float((weights**2).sum()), rel=1e-5
    )
    assert float(
        build_r1_penalty(weight=4.0).penalty(
            gankit.LossContext(x, x, None, None, {}, discriminator)
        )
    ) == pytest.approx(2.0 * float((weights**2).sum()), rel=1e-5)


def test_wgan_gp_penalty_is_zero_for_a_unit_gradient_critic():
    import keras

    w = np.zeros((12, 1), np.float32)
    w[0] = 1.0  # ||grad|| = 1 everywhere
    d = keras.Sequential(
        [keras.Input((2, 2, 3)), keras.layers.Flatten(), keras.layers.Dense(1, use_bias=False)]
    )
    d.layers[-1].set_weights([w])
    x = np.random.default_rng(0).uniform(-1, 1, (4, 2, 2, 3)).astype(np.float32)
    penalty = L.gradient_penalty(lambda inputs, training=None: d(inputs["image"]), x, -x, {})
    assert float(penalty) == pytest.approx(0.0, abs=1e-6)


def test_declared_settings_are_the_papers():
    declared = {c.name: c.training.declared() for c in gankit.registered("losses")}
    assert declared["wgan-gp"] == {
        "lr_g": 1e-4,
        "lr_d": 1e-4,
        "beta1": 0.0,
        "beta2": 0.9,
        "d_steps": 5,
    }
    assert declared["hinge"] == {
        "lr_g": 1e-4,
        "lr_d": 4e-4,
        "beta1": 0.0,
        "beta2": 0.9,
        "d_steps": 1,
    }
    assert declared["minimax"] == {}
