from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gankit.plugin.loader import LoadOptions, load_plugins

FIXTURES = Path(__file__).parent / "fixtures"
PLUGINS = FIXTURES / "plugins"
BUILTINS = {
    "gan",
    "cyclegan",
    "pix2pix",
    "cut",
    "dcgan",
    "resnet",
    "translators",
    "minimax",
    "losses",
    "penalties",
    "mnist-cifar",
    "mnist-cifar-unpaired",
    "image-folder",
    "metrics",
}


def names(host, family):
    return host.registry.names(family)


def test_builtins_load_and_register_their_components(host):
    for name in BUILTINS:
        record = host.record(name)
        assert (record.status, record.source, record.error) == ("ok", "builtin", None)
    assert names(host, "generators") == ["dcgan", "resnet", "resnet-translator", "unet"]
    assert names(host, "discriminators") == ["dcgan", "patchgan", "resnet"]
    assert names(host, "schemes") == ["cut", "cyclegan", "fastcut", "gan", "pix2pix"]
    assert names(host, "losses") == ["hinge", "lsgan", "minimax", "ragan", "wgan-gp"]
    assert names(host, "penalties") == ["r1"]
    assert names(host, "datasets") == [
        "cifar10",
        "image-folder",
        "mnist",
        "mnist-cifar",
        "mnist-cifar-unpaired",
    ]


def test_import_error_marks_only_that_plugin(tmp_path):
    host = load_plugins(LoadOptions(env={"GANKIT_PLUGINS": str(PLUGINS / "broken_import.py")}))
    broken = host.record("broken_import")
    assert broken.status == "error" and broken.source == "local"
    assert "boom" in broken.error and "ImportError" in broken.error
    assert all(host.record(n).status == "ok" for n in BUILTINS)


def test_exception_in_a_hook_registers_nothing_from_that_plugin():
    host = load_plugins(LoadOptions(plugins=[str(PLUGINS / "broken_hook.py")]))
    record = host.record("broken_hook")
    assert record.status == "error" and "hook exploded" in record.error
    assert "fine-before-crash" not in names(host, "generators")
    assert names(host, "generators") == ["dcgan", "resnet", "resnet-translator", "unet"]


def test_misspelled_hook_is_an_error_with_a_suggestion():
    host = load_plugins(LoadOptions(plugins=[str(PLUGINS / "misspelled.py")]))
    record = host.record("misspelled")
    assert record.status == "error"
    assert "unknown hook 'register_generator'" in record.error
    assert "did you mean 'register_generators'" in record.error
    # the plugin was unregistered: later hook calls do not reach it
    assert "never" not in names(host, "generators")


def test_duplicate_component_name_fails_the_later_plugin_naming_both():
    host = load_plugins(LoadOptions(plugins=[str(PLUGINS / "duplicate.py")]))
    record = host.record("duplicate")
    assert record.status == "error"
    assert (
        record.error
        == "generator 'dcgan' is registered by both plugin 'dcgan' and plugin 'duplicate'"
    )
    assert host.record("dcgan").status == "ok"


def test_disable_plugin_removes_it():
    host = load_plugins(LoadOptions(disabled=["minimax"]))
    assert [r.name for r in host.records if r.name == "minimax"] == []
    assert "minimax" not in names(host, "losses") and "hinge" in names(host, "losses")


def test_registry_file_loads_local_plugins_relative_to_it(tmp_path):
    reg = tmp_path / "my-registry.toml"
    reg.write_text(f'[plugins]\nextra = "{PLUGINS / "extra_loss.py"}"\nrel = "../rel.py"\n')
    (tmp_path.parent / "rel.py").write_text("import gankit\n")
    host = load_plugins(LoadOptions(registries=[reg]))
    extra = host.record("extra")
    assert (extra.status, extra.source, extra.version) == ("ok", "local", "1.2.3")
    assert "hinge-test" in names(host, "losses")
    assert host.record("rel").status == "ok"


def test_bad_registry_file_is_reported_not_raised(tmp_path):
    reg = tmp_path / "bad.toml"
    reg.write_text("plugins = 3\n")
    host = load_plugins(LoadOptions(registries=[reg]))
    assert host.records[-1].status == "error" and "[plugins] table" in host.records[-1].error


def test_module_plugins_by_import_path(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGINS))
    host = load_plugins(LoadOptions(plugins=["extra_loss"]))
    assert host.record("extra_loss").status == "ok"


def test_trace_prints_each_hook_call(capsys):
    load_plugins(LoadOptions(env={"GANKIT_TRACE_PLUGINS": "1"}))
    err = capsys.readouterr().err
    assert "gankit: calling register_generators on [dcgan]" in err
    assert "gankit: register_datasets ok" in err


@pytest.fixture(scope="module")
def example_plugin_site(tmp_path_factory) -> Path:
    """The example plugin package, pip-installed (for real) into a private folder."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(FIXTURES / "gankit-example-plugin"),
        ],
        check=True,
        capture_output=True,
    )
    return target


def run_list(env_extra: dict[str, str], *args: str) -> list[dict]:
    env = {**os.environ, **env_extra}
    out = subprocess.run(
        [sys.executable, "-m", "gankit.cli", *args, "list-plugins", "--json"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(out.stdout)


def test_entry_point_plugin_is_found_with_its_version(example_plugin_site):
    rows = run_list({"PYTHONPATH": str(example_plugin_site)})
    row = next(r for r in rows if r["name"] == "example")
    assert row["source"] == "entry-point"
    assert row["version"] == "0.3.1"
    assert row["status"] == "ok"
    assert row["components"]["generators"] == [
        {
            "name": "example-mlp",
            "summary": "A two-layer MLP generator (test plugin).",
            "options": {"hidden": 32},
            "option_types": {"hidden": "int"},
            "training": {},
        }
    ]


def test_autoload_can_be_disabled_and_a_plugin_can_be_disabled(example_plugin_site):
    env = {"PYTHONPATH": str(example_plugin_site)}
    rows = run_list({**env, "GANKIT_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert "example" not in [r["name"] for r in rows]
    rows = run_list(env, "--disable-plugin", "example")
    assert "example" not in [r["name"] for r in rows]
    assert {r["name"] for r in rows} >= BUILTINS
