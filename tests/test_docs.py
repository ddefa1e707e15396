"""The documentation tells the truth: generated references are current, every hook is
documented, the site builds strictly, and the plugin tutorial's code works."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gankit.plugin import hookspecs

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
sys.path.insert(0, str(DOCS))
from generate_reference import cli_reference, hook_reference  # noqa: E402


@pytest.mark.parametrize("page,render", [("cli.md", cli_reference), ("hooks.md", hook_reference)])
def test_generated_reference_pages_are_current(page, render):
    assert (DOCS / page).read_text() == render().rstrip() + "\n", (
        f"docs/{page} is out of date: run `python docs/generate_reference.py`"
    )


def test_every_hook_spec_is_in_the_hook_reference():
    text = (DOCS / "hooks.md").read_text()
    hooks = [n for n in dir(hookspecs) if n.startswith("register_")]
    assert len(hooks) == 8
    for name in hooks:
        assert f"## `{name}`" in text and f"def {name}(register" in text, (
            f"{name} missing from docs/hooks.md"
        )


def test_every_cli_command_is_in_the_cli_reference():
    from gankit.cli import cli

    text = (DOCS / "cli.md").read_text()
    for name in cli.commands:
        assert f"## gankit {name}\n" in text


def test_mkdocs_build_strict(tmp_path):
    if (
        shutil.which("mkdocs") is None
        and subprocess.run(
            [sys.executable, "-m", "mkdocs", "--version"], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("mkdocs not installed (pip install '.[docs]')")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "hooks" / "index.html").is_file()


def python_blocks(page: str) -> list[tuple[str, str]]:
    """(section heading, code) of every ```python block of a docs page."""
    blocks, section = [], ""
    for part in re.split(r"(^## .*$)", (DOCS / page).read_text(), flags=re.M):
        if part.startswith("## "):
            section = part
            continue
        blocks += [(section, code) for code in re.findall(r"```python\n(.*?)```", part, flags=re.S)]
    return blocks


def test_the_plugin_tutorial_code_works(tmp_path, monkeypatch):
    blocks = python_blocks("writing-plugins.md")
    module = "\n\n".join(
        code for section, code in blocks if section.startswith(("## 1.", "## 2.", "## 3."))
    )
    package = tmp_path / "gankit_mygan"
    package.mkdir()
    (package / "__init__.py").write_text(module)
    monkeypatch.syspath_prepend(str(tmp_path))
    tests = next(code for section, code in blocks if section.startswith("## 4."))
    namespace: dict = {}
    exec(compile(tests, "tutorial-tests", "exec"), namespace)
    for name, fn in namespace.items():
        if name.startswith("test_"):
            fn()

    from gankit.plugin.loader import LoadOptions, load_plugins

    host = load_plugins(LoadOptions(plugins=(str(package / "__init__.py"),)))
    record = next(r for r in host.records if r.source == "local")
    assert record.status == "ok", record.error
    assert ("generators", "resize") in host.registry and ("losses", "ls-symmetric") in host.registry
    assert ("discriminators", "noisy-dcgan") in host.registry
