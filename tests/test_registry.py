from __future__ import annotations

from typing import Literal

import pytest

from gankit.errors import DuplicateComponentError, OptionError, UnknownComponentError
from gankit.plugin.registry import Registry


def factory(spec, *, width: int = 64, rate: float = 0.5, sn: bool = False,
            mode: Literal["a", "b"] = "a", name: str | None = None):
    """First line is the summary.

    More text.
    """
    return dict(width=width, rate=rate, sn=sn, mode=mode, name=name)


def test_options_are_keyword_only_parameters_with_defaults_and_types():
    reg = Registry()
    component = reg.register("generators", "g", factory, plugin="p")
    assert [o.name for o in component.options] == ["width", "rate", "sn", "mode", "name"]
    assert component.option_defaults() == {"width": 64, "rate": 0.5, "sn": False, "mode": "a", "name": None}
    assert component.summary == "First line is the summary."


def test_string_values_are_coerced_to_the_annotated_types():
    component = Registry().register("generators", "g", factory)
    resolved = component.validate_options({"width": "128", "rate": "1", "sn": "true", "mode": "b", "name": "none"})
    assert resolved == {"width": 128, "rate": 1.0, "sn": True, "mode": "b", "name": None}


@pytest.mark.parametrize(
    "given, message",
    [
        ({"widht": 3}, "unknown option `widht` for generator 'g' (valid options: mode, name, rate, sn, width)"),
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


def test_duplicate_name_names_both_plugins():
    reg = Registry()
    reg.register("losses", "minimax", factory, plugin="first")
    with pytest.raises(DuplicateComponentError, match="loss 'minimax' is registered by both plugin 'first' and plugin 'second'"):
        reg.register("losses", "minimax", factory, plugin="second")
    # the same name in another family is fine
    reg.register("generators", "minimax", factory, plugin="second")


def test_unknown_name_lists_available_and_suggests_a_close_match():
    reg = Registry()
    reg.register("generators", "dcgan", factory)
    reg.register("generators", "resnet", factory)
    with pytest.raises(UnknownComponentError) as info:
        reg.get("generators", "dcgn")
    assert str(info.value) == "unknown generator 'dcgn' (did you mean 'dcgan'?); available: dcgan, resnet"
    with pytest.raises(UnknownComponentError, match="^unknown generator 'zzz'; available: dcgan, resnet$"):
        reg.get("generators", "zzz")


def test_required_option_must_be_given():
    def needs(*, size: int):
        return size

    component = Registry().register("losses", "needs", needs)
    with pytest.raises(OptionError, match="needs option `size`"):
        component.validate_options({})
    assert component.build(size="3") == 3
