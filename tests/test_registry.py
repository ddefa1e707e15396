from __future__ import annotations

from typing import Literal

import pytest

from gankit.errors import (
    DuplicateComponentError,
    OptionError,
    PluginCodeError,
    PluginError,
    UnknownComponentError,
)
from gankit.plugin.registry import SINGULAR, Registry


def factory(
    spec,
    *,
    width: int = 64,
    rate: float = 0.5,
    sn: bool = False,
    mode: Literal["a", "b"] = "a",
    name: str | None = None,
):
    """First line is the summary.

    More text.
    """
    return dict(width=width, rate=rate, sn=sn, mode=mode, name=name)


def test_options_are_keyword_only_parameters_with_defaults_and_types():
    reg = Registry()
    component = reg.register("generators", "g", factory, plugin="p")
    assert [o.name for o in component.options] == ["width", "rate", "sn", "mode", "name"]
    assert component.option_defaults() == {
        "width": 64,
        "rate": 0.5,
        "sn": False,
        "mode": "a",
        "name": None,
    }
    assert component.summary == "First line is the summary."
    assert [o.type_name() for o in component.options] == [
        "int",
        "float",
        "bool",
        "'a' | 'b'",
        "str | None",
    ]


class ClassFactory:
    """A component class: its options are its ``__init__``'s keyword-only parameters."""

    def __init__(self, context, *, uri: str | None = None, every: int = 1) -> None:
        self.uri, self.every = uri, every


def test_a_class_factory_shows_its_init_annotations():
    component = Registry().register("loggers", "c", ClassFactory, plugin="p")
    assert [o.type_name() for o in component.options] == ["str | None", "int"]
    assert component.options[0].coerce("file:/x") == "file:/x"


def test_string_values_are_coerced_to_the_annotated_types():
    component = Registry().register("generators", "g", factory)
    resolved = component.validate_options(
        {"width": "128", "rate": "1", "sn": "true", "mode": "b", "name": "none"}
    )
    assert resolved == {"width": 128, "rate": 1.0, "sn": True, "mode": "b", "name": None}


@pytest.mark.parametrize(
    "given, message",
    [
        (
            {"widht": 3},
            "unknown option `widht` for generator 'g' (valid options: mode, name, rate, sn, width)",
        ),
        ({"width": "abc"}, "option `width` expects int"),
        ({"width": 1.5}, "option `width` expects int"),
        ({"sn": "maybe"}, "option `sn` expects bool"),
        ({"mode": "c"}, "option `mode` expects"),
    ],
)
def test_bad_options_name_the_option(given, message):
    component = Registry().register("generators", "g", factory)
    with pytest.raises(OptionError) as info:
        component.validate_options(given)
    assert message in str(info.value)


def loss_factory(*, weight: float = 1.0):
    return weight


def test_duplicate_name_names_both_plugins():
    reg = Registry()
    reg.register("losses", "minimax", loss_factory, plugin="first")
    with pytest.raises(
        DuplicateComponentError,
        match="loss 'minimax' is registered by both plugin 'first' and plugin 'second'",
    ):
        reg.register("losses", "minimax", loss_factory, plugin="second")
    # the same name in another family is fine
    reg.register("generators", "minimax", factory, plugin="second")


def test_unknown_name_lists_available_and_suggests_a_close_match():
    reg = Registry()
    reg.register("generators", "dcgan", factory)
    reg.register("generators", "resnet", factory)
    with pytest.raises(UnknownComponentError) as info:
        reg.get("generators", "dcgn")
    assert (
        str(info.value)
        == "unknown generator 'dcgn' (did you mean 'dcgan'?); available: dcgan, resnet"
    )
    with pytest.raises(
        UnknownComponentError, match="^unknown generator 'zzz'; available: dcgan, resnet$"
    ):
        reg.get("generators", "zzz")


def required(*, size: int):
    return size


def positional_option(spec, width):
    return width


def star_args(spec, *args, width: int = 3):
    return width


def two_positional_for_a_loss(a, *, weight: float = 1.0):
    return weight


@pytest.mark.parametrize(
    "family, factory, message",
    [
        ("losses", required, "option `size` needs a default"),
        ("generators", positional_option, "parameter `width` must be keyword-only with a default"),
        ("generators", star_args, "`*args` is not allowed"),
        ("losses", two_positional_for_a_loss, "parameter `a` must be keyword-only"),
        ("datasets", lambda: None, "the hook spec passes 1"),
    ],
)
def test_registration_rules_name_the_component_and_the_problem(family, factory, message):
    with pytest.raises(PluginError) as info:
        Registry().register(family, "x", factory, plugin="p")
    assert str(info.value).startswith(f"{SINGULAR[family]} 'x': factory ") and message in str(
        info.value
    )


@pytest.mark.parametrize(
    "training, message",
    [
        ({"lr": 1e-4}, "unknown training setting `lr`"),
        ({"beta1": 1.5}, "`beta1` must be in [0, 1)"),
        ({"d_steps": 0}, "`d_steps` must be a positive integer"),
        ({"update": "sometimes"}, "`update` must be one of alternating, simultaneous"),
        ({"ema_decay": 1.0}, "`ema_decay` must be in [0, 1)"),
    ],
)
def test_declared_training_settings_are_checked_when_registering(training, message):
    with pytest.raises(PluginError) as info:
        Registry().register("losses", "x", loss_factory, training=training)
    assert message in str(info.value)


def test_declared_training_settings_are_kept():
    component = Registry().register(
        "losses", "x", loss_factory, training={"lr_g": 1e-4, "d_steps": 5}
    )
    assert component.training.declared() == {"lr_g": 1e-4, "d_steps": 5}
    assert component.create(weight="2") == 2.0


def test_a_factory_that_raises_is_named_with_its_plugin():
    def broken(*, size: int = 1):
        raise ValueError("size must be even")

    component = Registry().register("losses", "broken", broken, plugin="mine")
    with pytest.raises(PluginCodeError) as info:
        component.create()
    assert (
        str(info.value)
        == "loss 'broken' from plugin 'mine': factory raised ValueError: size must be even"
    )
    assert isinstance(info.value.__cause__, ValueError)
