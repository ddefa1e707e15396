"""Every built-in model passes gankit.testing's contract checks."""

from __future__ import annotations

import numpy as np
import pytest

import gankit
from gankit.testing import CONDITIONAL_SPEC, check_discriminator, check_generator
from gankit_plugins.dcgan import build_dcgan_discriminator, build_dcgan_generator


@pytest.mark.parametrize("spec", [gankit.ModelSpec((32, 32, 3), 16), CONDITIONAL_SPEC], ids=["uncond", "cond"])
def test_dcgan_generator_contract(spec):
    check_generator(build_dcgan_generator, spec=spec, options={"width": 8})


@pytest.mark.parametrize("spec", [gankit.ModelSpec((32, 32, 3), 16), CONDITIONAL_SPEC], ids=["uncond", "cond"])
@pytest.mark.parametrize("sn", [False, True], ids=["bn", "sn"])
def test_dcgan_discriminator_contract(spec, sn):
    check_discriminator(build_dcgan_discriminator, spec=spec, options={"width": 8, "spectral_norm": sn})


def test_dcgan_architecture_at_32_follows_the_paper():
    g = build_dcgan_generator(gankit.ModelSpec((32, 32, 3), 100), width=64)
    convt = [l for l in g.layers if l.__class__.__name__ == "Conv2DTranspose"]
    assert [l.filters for l in convt] == [128, 64, 3]
    assert g.get_layer(index=1).units == 4 * 4 * 256
    d = build_dcgan_discriminator(gankit.ModelSpec((32, 32, 3), 100), width=64)
    convs = [l for l in d.layers if l.__class__.__name__ == "Conv2D"]
    assert [(l.filters, l.kernel_size, l.strides) for l in convs] == [(64, (4, 4), (2, 2)), (128, (4, 4), (2, 2)), (256, (4, 4), (2, 2))]
    assert sum(l.__class__.__name__ == "BatchNormalization" for l in d.layers) == 2


def test_dcgan_at_64x64_adds_a_stage():
    spec = gankit.ModelSpec((64, 64, 1), 8)
    g = build_dcgan_generator(spec, width=4)
    assert g({"z": np.zeros((2, 8), np.float32)}).shape == (2, 64, 64, 1)
    assert sum(l.__class__.__name__ == "Conv2DTranspose" for l in g.layers) == 4
    d = build_dcgan_discriminator(spec, width=4)
    assert d({"image": np.zeros((2, 64, 64, 1), np.float32)}).shape == (2, 1)


def test_conditional_generator_has_skips_only_when_asked():
    with_skips = build_dcgan_generator(CONDITIONAL_SPEC, width=4, skips=True)
    without = build_dcgan_generator(CONDITIONAL_SPEC, width=4, skips=False)
    assert any(l.name.startswith("skip_") for l in with_skips.layers)
    assert not any(l.name.startswith("skip_") for l in without.layers)


@pytest.mark.parametrize("shape", [(30, 30, 3), (32, 16, 3), (4, 4, 3)])
def test_bad_image_shapes_are_rejected_with_the_argument_named(shape):
    with pytest.raises(ValueError, match="`image_shape`"):
        build_dcgan_generator(gankit.ModelSpec(shape, 8), width=4)
