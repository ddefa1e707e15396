"""The minimax loss math against hand-computed values and the probability formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gankit.testing import check_loss
from gankit_plugins.minimax import (
    MinimaxLoss,
    build_minimax_loss,
    minimax_discriminator_loss,
    minimax_generator_loss,
)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_hand_computed_values_at_zero_logits():
    # D(x) = 0.5 everywhere: D loss = -log .5 - log .5 = 2 ln 2, G (NS) = ln 2, G (sat) = -ln 2
    zeros = np.zeros((4, 1), np.float32)
    assert float(minimax_discriminator_loss(zeros, zeros)) == pytest.approx(
        2 * math.log(2), rel=1e-6
    )
    assert float(minimax_generator_loss(zeros)) == pytest.approx(math.log(2), rel=1e-6)
    assert float(minimax_generator_loss(zeros, "saturating")) == pytest.approx(
        -math.log(2), rel=1e-6
    )


def test_hand_computed_values_at_known_logits():
    # real logit ln 3 -> D = 0.75; fake logit -ln 3 -> D = 0.25
    real = np.array([[math.log(3)]], np.float32)
    fake = -real
    expected_d = -math.log(0.75) - math.log(1 - 0.25)
    assert float(minimax_discriminator_loss(real, fake)) == pytest.approx(expected_d, rel=1e-6)
    assert float(minimax_generator_loss(fake)) == pytest.approx(-math.log(0.25), rel=1e-6)
    assert float(minimax_generator_loss(fake, "saturating")) == pytest.approx(
        math.log(0.75), rel=1e-6
    )


def test_matches_sigmoid_probability_formulas_with_label_smoothing():
    rng = np.random.default_rng(0)
    real = rng.normal(0, 2, (64, 1)).astype(np.float32)
    fake = rng.normal(0, 2, (64, 1)).astype(np.float32)
    s = 0.1
    d_real, d_fake = sigmoid(real.astype(np.float64)), sigmoid(fake.astype(np.float64))
    expected = np.mean(-(1 - s) * np.log(d_real) - s * np.log(1 - d_real)) + np.mean(
        -np.log(1 - d_fake)
    )
    assert float(minimax_discriminator_loss(real, fake, s)) == pytest.approx(expected, rel=1e-5)
    assert float(minimax_generator_loss(fake)) == pytest.approx(np.mean(-np.log(d_fake)), rel=1e-5)
    assert float(minimax_generator_loss(fake, "saturating")) == pytest.approx(
        np.mean(np.log(1 - d_fake)), rel=1e-5
    )


def test_stable_for_extreme_logits():
    big = np.array([[1e4], [-1e4]], np.float32)
    for value in (
        minimax_discriminator_loss(big, -big),
        minimax_discriminator_loss(-big, big),
        minimax_generator_loss(big),
        minimax_generator_loss(-big),
        minimax_generator_loss(-big, "saturating"),
    ):
        assert np.isfinite(float(value))
    # a confidently wrong discriminator pays about |logit|
    assert float(
        minimax_discriminator_loss(np.float32([[-100.0]]), np.float32([[100.0]]))
    ) == pytest.approx(200.0, rel=1e-4)


def test_loss_object_and_contract():
    check_loss(build_minimax_loss)
    check_loss(build_minimax_loss, options={"variant": "saturating", "label_smoothing": 0.2})
    with pytest.raises(ValueError, match="`variant`"):
        MinimaxLoss("wasserstein")
    with pytest.raises(ValueError, match="`label_smoothing`"):
        MinimaxLoss(label_smoothing=1.0)


def test_l1_term_applies_only_to_paired_runs_and_is_not_the_losses():
    import gankit
    from gankit.terms import ReconstructionTerm, TermInputs

    real = np.zeros((2, 4, 4, 3), np.float32)
    fake = np.full((2, 4, 4, 3), 0.5, np.float32)
    logits = np.zeros((2, 1), np.float32)
    paired = gankit.LossContext(real, fake, logits, logits, paired=True)
    assert ReconstructionTerm.for_run(gankit.SchemeContext(None, paired=False)) is None
    assert ReconstructionTerm.for_run(gankit.SchemeContext(None, paired=True), 0.0) is None
    term = ReconstructionTerm.for_run(gankit.SchemeContext(None, paired=True), 10.0)
    inputs = TermInputs(paired, None, None, 0)
    assert (
        float(term.generator(inputs)) == pytest.approx(0.5) and term.weight_for("generator") == 10.0
    )
    assert term.discriminator(inputs) is None
    # the loss itself is the adversarial game alone, paired or not
    loss = build_minimax_loss()
    assert float(loss.generator_loss(paired)) == pytest.approx(math.log(2), rel=1e-6)
    assert float(loss.discriminator_loss(paired)) == pytest.approx(2 * math.log(2), rel=1e-6)
