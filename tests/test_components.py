"""Every built-in model passes gankit.testing's contract checks."""

from __future__ import annotations

import numpy as np
import pytest

import gankit
from gankit.testing import CONDITIONAL_SPEC, check_discriminator, check_generator
from gankit_plugins.dcgan import build_dcgan_discriminator, build_dcgan_generator


@pytest.mark.parametrize(
    "spec", [gankit.ModelSpec((32, 32, 3), 16), CONDITIONAL_SPEC], ids=["uncond", "cond"]
)
def test_dcgan_generator_contract(spec):
    check_generator(build_dcgan_generator, spec=spec, options={"width": 8})


@pytest.mark.parametrize(
    "spec", [gankit.ModelSpec((32, 32, 3), 16), CONDITIONAL_SPEC], ids=["uncond", "cond"]
)
@pytest.mark.parametrize("sn", [False, True], ids=["bn", "sn"])
def test_dcgan_discriminator_contract(spec, sn):
    check_discriminator(
        build_dcgan_discriminator, spec=spec, options={"width": 8, "spectral_norm": sn}
    )


def test_dcgan_architecture_at_32_follows_the_paper():
    g = build_dcgan_generator(gankit.ModelSpec((32, 32, 3), 100), width=64, to_image="transposed")
    convt = [l for l in g.layers if l.__class__.__name__ == "Conv2DTranspose"]
    assert [l.filters for l in convt] == [128, 64, 3]
    assert g.get_layer(index=1).units == 4 * 4 * 256
    d = build_dcgan_discriminator(gankit.ModelSpec((32, 32, 3), 100), width=64)
    convs = [l for l in d.layers if l.__class__.__name__ == "Conv2D"]
    assert [(l.filters, l.kernel_size, l.strides) for l in convs] == [
        (64, (4, 4), (2, 2)),
        (128, (4, 4), (2, 2)),
        (256, (4, 4), (2, 2)),
    ]
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


def test_conv_to_image_ends_in_a_full_resolution_3x3_convolution():
    spec = gankit.ModelSpec((32, 32, 3), 16)
    g = build_dcgan_generator(spec, width=8, to_image="conv")
    convt = [l for l in g.layers if l.__class__.__name__ == "Conv2DTranspose"]
    assert [l.filters for l in convt] == [16, 8, 4]  # the last to w / 2 features, not to the image
    last = g.get_layer("to_image")
    assert (last.filters, last.kernel_size) == (3, (3, 3)) and last.output.shape[1:] == (32, 32, 3)
    check_generator(
        build_dcgan_generator,
        spec=spec,
        options={"width": 8, "to_image": "conv"},
        precisions=("float32",),
    )
    with pytest.raises(ValueError, match="`to_image`"):
        build_dcgan_generator(spec, width=8, to_image="pixelshuffle")


def test_to_image_auto_is_conv_for_unconditional_generators_only():
    def ends_in_conv(spec):
        return (
            build_dcgan_generator(spec, width=4).get_layer("to_image").__class__.__name__
            == "Conv2D"
        )

    assert ends_in_conv(gankit.ModelSpec((32, 32, 3), 8))
    assert not ends_in_conv(gankit.ModelSpec((32, 32, 3), 8, num_classes=10))
    assert ends_in_conv(CONDITIONAL_SPEC)  # the joint conditional generator with skips always does


@pytest.mark.parametrize("to_image", ["transposed", "conv"])
def test_layered_generator_composites_a_foreground_onto_a_background_through_its_mask(to_image):
    import keras

    spec = gankit.ModelSpec((32, 32, 3), 16)
    g = build_dcgan_generator(spec, width=8, to_image=to_image, layered=True)
    assert g.get_layer("mask").output.shape[1:] == (32, 32, 1)
    z = np.random.default_rng(0).standard_normal((2, 16)).astype("float32")
    parts = keras.Model(
        g.inputs, [g.get_layer(n).output for n in ("foreground", "background", "mask")]
    )
    fore, back, mask = (np.asarray(t) for t in parts(z))
    expected = mask * fore + (1 - mask) * back
    np.testing.assert_allclose(np.asarray(g(z)), expected, atol=1e-5)
    check_generator(
        build_dcgan_generator,
        spec=spec,
        options={"width": 8, "to_image": to_image, "layered": True},
        precisions=("float32",),
    )


def test_layered_is_off_by_default_and_checked():
    spec = gankit.ModelSpec((32, 32, 3), 16)
    assert "mask" not in [l.name for l in build_dcgan_generator(spec, width=8).layers]
    with pytest.raises(ValueError, match="`layered`"):
        build_dcgan_generator(spec, width=8, layered="yes")


@pytest.mark.parametrize("shape", [(30, 30, 3), (32, 16, 3), (4, 4, 3)])
def test_bad_image_shapes_are_rejected_with_the_argument_named(shape):
    with pytest.raises(ValueError, match="`image_shape`"):
        build_dcgan_generator(gankit.ModelSpec(shape, 8), width=4)


@pytest.mark.parametrize("labels", ["cbn", "concat"])
def test_dcgan_generator_label_mechanisms_meet_the_contract(labels):
    from gankit.testing import LABEL_SPEC

    check_generator(build_dcgan_generator, spec=LABEL_SPEC, options={"width": 8, "labels": labels})
    both = gankit.ModelSpec(
        (32, 32, 3), 16, {"style": (32, 32, 3)}, num_classes=4
    )  # a label beside an image
    check_generator(
        build_dcgan_generator,
        spec=both,
        options={"width": 8, "labels": labels},
        precisions=("float32",),
    )


@pytest.mark.parametrize("labels", ["projection", "acgan"])
def test_dcgan_discriminator_label_mechanisms_meet_the_contract(labels):
    from gankit.testing import LABEL_SPEC

    check_discriminator(
        build_dcgan_discriminator, spec=LABEL_SPEC, options={"width": 8, "labels": labels}
    )


@pytest.mark.parametrize("size", [32, 64])
def test_resnet_models_meet_the_contract(size):
    from gankit_plugins.resnet import build_resnet_discriminator, build_resnet_generator

    spec = gankit.ModelSpec((size, size, 3), 16)
    label_spec = gankit.ModelSpec((size, size, 3), 16, num_classes=3)
    precisions = ("float32", "mixed_bfloat16") if size == 32 else ("float32",)
    check_generator(
        build_resnet_generator,
        spec=spec,
        label_spec=label_spec,
        options={"width": 8},
        precisions=precisions,
    )
    check_discriminator(
        build_resnet_discriminator,
        spec=spec,
        label_spec=label_spec,
        options={"width": 8},
        precisions=precisions,
    )
    check_discriminator(
        build_resnet_discriminator,
        spec=label_spec,
        options={"width": 8, "labels": "acgan"},
        precisions=("float32",),
    )


def test_resnet_follows_the_paper_and_refuses_what_it_cannot_build():
    import keras

    from gankit_plugins.resnet import (
        SNGAN_TRAINING,
        build_resnet_discriminator,
        build_resnet_generator,
    )

    spec = gankit.ModelSpec((32, 32, 3), 16)
    d = build_resnet_discriminator(spec, width=8)
    plain = [
        layer for layer in d.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
    ]
    assert not plain  # every convolution and dense layer is spectrally normalised
    g = build_resnet_generator(gankit.ModelSpec((128, 128, 3), 16), width=8)
    assert [g.get_layer(f"up{i}_conv2").filters for i in range(5)] == [32, 16, 8, 8, 8]
    assert SNGAN_TRAINING.declared() == {
        "lr_g": 2e-4,
        "lr_d": 2e-4,
        "beta1": 0.0,
        "beta2": 0.9,
        "d_steps": 5,
        "loss": "hinge",
    }
    with pytest.raises(ValueError, match="side 32, 64 or 128"):
        build_resnet_generator(gankit.ModelSpec((16, 16, 3), 16))
    with pytest.raises(ValueError, match="no condition images"):
        build_resnet_discriminator(gankit.ModelSpec((32, 32, 3), 16, {"style": (32, 32, 3)}))
