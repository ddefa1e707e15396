"""Plugin names, where plugins came from, and what a run says when one is missing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from gankit.cli import cli
from gankit.plugin.loader import LoadOptions, load_plugins

PLUGINS = Path(__file__).parent / "fixtures" / "plugins"
TINY = [
    "--batch-size",
    "8",
    "--latent-dim",
    "8",
    "--log-every",
    "1",
    "--sample-every",
    "2",
    "--checkpoint-every",
    "2",
    "-o",
    "generator.width=4",
    "-o",
    "discriminator.width=4",
    "--no-progress",
]


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


def a_plugin_file_named(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(PLUGINS / "relativistic.py", folder / f"{name}.py"))


def test_a_local_plugin_named_like_a_builtin_is_refused_in_one_line_and_listed_once(tmp_path):
    local = a_plugin_file_named(tmp_path, "losses")
    host = load_plugins(LoadOptions(plugins=[str(local)]))
    names = [r.name for r in host.records]
    assert len(names) == len(set(names))
    assert host.record("losses").source == "builtin" and host.record("losses").status == "ok"
    refused = host.record(str(local))
    assert refused.status == "error"
    assert refused.error.startswith("its name 'losses' is taken by the built-in plugin 'losses'")
    assert "named after its file" in refused.error and "--disable-plugin losses" in refused.error
    assert "ra-test" not in host.registry.names("losses")
    assert host.warnings() == [f"plugin '{local}' was not loaded: {refused.error}"]

    rows = json.loads(invoke("--plugin", str(local), "list-plugins", "--json").stdout)
    assert len([r for r in rows if r["name"] == "losses"]) == 1


def test_disabling_the_builtin_lets_the_local_plugin_take_its_name(tmp_path):
    local = a_plugin_file_named(tmp_path, "losses")
    host = load_plugins(LoadOptions(plugins=[str(local)], disabled=["losses"]))
    record = host.record("losses")
    assert (record.status, record.source, record.target) == ("ok", "local", str(local))
    assert host.registry.names("losses") == ["minimax", "ra-test"]


def test_two_local_plugins_with_one_name(tmp_path):
    first, second = (
        a_plugin_file_named(tmp_path / "a", "rahinge"),
        a_plugin_file_named(tmp_path / "b", "rahinge"),
    )
    host = load_plugins(LoadOptions(plugins=[str(first), str(second)]))
    assert host.record("rahinge").target == str(first)
    assert "taken by the local plugin 'rahinge'" in host.record(str(second)).error


def test_records_say_where_each_plugin_came_from(tmp_path, monkeypatch):
    via_flag, via_env = a_plugin_file_named(tmp_path, "one"), a_plugin_file_named(tmp_path, "two")
    registry_file = tmp_path / "reg.toml"
    registry_file.write_text(f'[plugins]\nthree = "{PLUGINS / "extra_loss.py"}"\n')
    monkeypatch.chdir(tmp_path)
    host = load_plugins(
        LoadOptions(
            plugins=["one.py"], registries=[registry_file], env={"GANKIT_PLUGINS": "two.py"}
        )
    )
    assert host.record("one").origin() == {
        "source": "local",
        "via": "--plugin",
        "target": str(via_flag),
    }
    assert host.record("two").origin() == {
        "source": "local",
        "via": "GANKIT_PLUGINS",
        "target": str(via_env),
    }
    assert host.record("three").via == f"--registry {registry_file}"
    assert host.record("dcgan").origin()["via"] == "registry.toml"


def test_resuming_without_the_plugin_names_where_it_came_from(tmp_path, tiny_data, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a_plugin_file_named(tmp_path, "rahinge")
    result = invoke(
        "--plugin",
        "./rahinge.py",
        "train",
        "--loss",
        "ra-test",
        "--out",
        "R",
        "--steps",
        "2",
        *TINY,
    )
    assert result.exit_code == 0, result.output
    info = json.loads((tmp_path / "R" / "run.json").read_text())
    assert info["plugins"]["rahinge"] is None
    assert info["plugin_sources"]["rahinge"] == {
        "source": "local",
        "via": "--plugin",
        "target": str(tmp_path / "rahinge.py"),
        "components": ["losses/ra-test"],
    }
    assert info["plugin_sources"]["dcgan"]["components"] == [
        "generators/dcgan",
        "discriminators/dcgan",
    ]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = invoke("train", "--out", str(tmp_path / "R"), "--steps", "4", *TINY)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: unknown loss 'ra-test'")
    assert lines[0].endswith(
        f"was trained with loss 'ra-test' from plugin 'rahinge' (loaded by --plugin): "
        f"pass --plugin {tmp_path / 'rahinge.py'} again"
    )
    # the advice works from any folder: the recorded path is absolute
    result = invoke(
        "--plugin",
        str(tmp_path / "rahinge.py"),
        "train",
        "--out",
        str(tmp_path / "R"),
        "--steps",
        "4",
        *TINY,
    )
    assert result.exit_code == 0, result.output


def test_list_plugins_table_shows_summaries_option_types_and_defaults():
    result = CliRunner().invoke(cli, ["list-plugins"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "DCGAN generator (Radford et al. 2015)" in result.output
    assert "width: int | 'auto' = 'auto'" in result.output
    assert "gp_weight: float = 10.0" in result.output
    assert "trains with lr_g=0.0001" in result.output
    narrow = CliRunner().invoke(cli, ["list-plugins"], env={"COLUMNS": "80"})
    assert max(len(line) for line in narrow.output.splitlines()) <= 80


def test_list_plugins_json_gives_option_types_and_origin():
    rows = json.loads(invoke("list-plugins", "--json").stdout)
    dcgan = next(r for r in rows if r["name"] == "dcgan")
    assert (dcgan["via"], dcgan["target"]) == ("registry.toml", "gankit_plugins.dcgan")
    generator = dcgan["components"]["generators"][0]
    assert generator["option_types"] == {
        "width": "int | 'auto'",
        "skips": "bool",
        "conditioning": "'joint' | 'separate'",
        "labels": "'cbn' | 'concat'",
        "to_image": "'auto' | 'transposed' | 'conv'",
        "layered": "bool",
    }
