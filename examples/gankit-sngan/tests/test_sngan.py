"""gankit's contract checks on the SNGAN components, which are gankit's built-ins composed
with gankit.create at the paper's widths."""

import gankit_sngan
import numpy as np
import pytest

import gankit
from gankit.testing import check_discriminator, check_generator, check_loss


def test_generator_meets_the_contract():  # unconditional and, through LABEL_SPEC, label-conditional
    check_generator(gankit_sngan.build_sngan_generator, options={"width": 8})


def test_discriminator_meets_the_contract():
    check_discriminator(gankit_sngan.build_sngan_discriminator, options={"width": 8})


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
    assert mine["sngan"].training.declared() == {
        "lr_g": 2e-4,
        "lr_d": 2e-4,
        "beta1": 0.0,
        "beta2": 0.9,
        "d_steps": 5,
    }


def test_the_models_are_the_builtin_resnet_at_the_papers_widths():
    import keras

    from gankit import ModelSpec

    spec = ModelSpec((32, 32, 3), 16)
    generator = gankit_sngan.build_sngan_generator(spec)
    discriminator = gankit_sngan.build_sngan_discriminator(spec)
    assert generator.name == "resnet_generator" and generator.get_layer("up2_conv2").filters == 256
    assert discriminator.name == "resnet_discriminator"
    wrapped = [
        layer
        for layer in discriminator.layers
        if isinstance(layer, keras.layers.SpectralNormalization)
    ]
    assert wrapped and wrapped[0].layer.filters == 128


def test_sizes_the_builtin_cannot_build_are_refused_by_it():
    from gankit import ModelSpec
    from gankit.errors import PluginCodeError

    with pytest.raises(PluginCodeError, match="side 32, 64 or 128"):
        gankit_sngan.build_sngan_generator(ModelSpec((28, 28, 1), 16), width=8)
