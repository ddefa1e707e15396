"""``gankit check PLUGIN``: one line per check, exit 1 on any failure; what passes
registers, and the gallery's wrong components fail."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import FIXTURES


def check(*args: str):
    from gankit.cli import cli

    return CliRunner().invoke(cli, ["check", *args])


def test_a_builtin_plugin_passes():
    result = check("gankit_plugins.penalties")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "ok   plugin 'penalties': loaded and registered 1 component(s)",
        "ok   penalty 'r1' (check_penalty)",
    ]


GALLERY_PLUGIN = '''
import sys
sys.path.insert(0, {fixtures!r})
import gankit
import wrong_components as w


def build_summed():
    """Relativistic hinge, summed."""
    return w.RelativisticHingeSummed()


def build_eager():
    """A loss that calls float() on a tensor."""
    return w.EagerOnly()


def build_right():
    """The right relativistic hinge."""
    return w.RelativisticHinge()


@gankit.hookimpl
def register_losses(register):
    register("rahinge-summed", build_summed)
    register("eager-only", build_eager)
    register("rahinge", build_right)
'''


def test_gallery_losses_fail_one_line_each(tmp_path):
    path = tmp_path / "gallery_losses.py"
    path.write_text(GALLERY_PLUGIN.format(fixtures=str(FIXTURES)))
    result = check(str(path))
    assert result.exit_code == 1, result.output
    lines = dict(line.split(" (check_loss)", 1) for line in result.stdout.splitlines()[1:])
    assert lines["ok   loss 'rahinge'"] == ""
    assert "when the batch is repeated twice" in lines["FAIL loss 'rahinge-summed'"]
    assert "works eagerly but fails inside tf.function" in lines["FAIL loss 'eager-only'"]


def test_a_factory_the_registry_refuses_fails_as_the_plugin(tmp_path):
    path = tmp_path / "margins.py"
    path.write_text(
        "import gankit\n\n\ndef build(*, margin: float):\n"
        "    '''No default.'''\n    return None\n\n\n"
        "@gankit.hookimpl\ndef register_losses(register):\n    register('margin', build)\n"
    )
    result = check(str(path))
    assert result.exit_code == 1
    [line] = result.stdout.splitlines()
    assert line.startswith("FAIL plugin 'margins': ") and "option `margin` needs a default" in line


@pytest.mark.parametrize(
    "target, message",
    [
        ("nosuch_module_xyz", "FAIL plugin 'nosuch_module_xyz'"),
        ("./missing.py", "no such plugin file"),
    ],
)
def test_unknown_targets(target, message):
    result = check(target)
    assert result.exit_code in (1, 2)
    assert message in result.output and "Traceback" not in result.output
