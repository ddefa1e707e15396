"""gankit's contract checks on the SNGAN components, and the loss it builds on gankit's hinge."""

import gankit_sngan
import numpy as np
import pytest

import gankit
from gankit.testing import CONDITIONAL_SPEC, check_discriminator, check_generator, check_loss


@pytest.mark.parametrize("spec", [None, CONDITIONAL_SPEC], ids=["unconditional", "conditional"])
def test_generator_meets_the_contract(spec):
    kwargs = {"spec": spec} if spec else {}
    check_generator(gankit_sngan.build_sngan_generator, options={"width": 8}, **kwargs)


@pytest.mark.parametrize("spec", [None, CONDITIONAL_SPEC], ids=["unconditional", "conditional"])
def test_discriminator_meets_the_contract(spec):
    kwargs = {"spec": spec} if spec else {}
    check_discriminator(gankit_sngan.build_sngan_discriminator, options={"width": 8}, **kwargs)


def test_loss_meets_the_contract():
    check_loss(gankit_sngan.build_sngan_loss)


def test_the_loss_is_gankits_hinge_with_the_papers_settings():
    real, fake = np.array([[2.0], [0.5]], "float32"), np.array([[-2.0], [0.0]], "float32")
    ctx = gankit.LossContext(None, None, real, fake)
    loss = gankit_sngan.build_sngan_loss()
    # relu(1 - real) = [0, 0.5] -> 0.25; relu(1 + fake) = [0, 1] -> 0.5
    assert float(loss.discriminator_loss(ctx)) == pytest.approx(0.75)
    assert float(loss.generator_loss(ctx)) == pytest.approx(1.0)
    mine = {c.name: c for c in gankit.registered("losses") if c.plugin == "sngan"}
    assert mine["sngan"].training.declared() == {"lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.0, "beta2": 0.9, "d_steps": 5}


def test_the_discriminator_is_spectrally_normalised():
    import keras

    from gankit import ModelSpec

    model = gankit_sngan.build_sngan_discriminator(ModelSpec((32, 32, 3), 16), width=8)
    wrapped = [layer for layer in model.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    plain = [layer for layer in model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
    assert wrapped and not plain


def test_rejects_sizes_it_cannot_build():
    from gankit import ModelSpec

    with pytest.raises(ValueError, match="square images"):
        gankit_sngan.build_sngan_generator(ModelSpec((28, 28, 1), 16), width=8)
