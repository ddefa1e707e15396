"""``gankit new-plugin``: write a pip-installable plugin package that works out of the box.

The package ``gankit-NAME`` (import name ``gankit_NAME``) declares itself under the
``gankit`` entry-point group, registers one working example component per requested
family under the name ``NAME``, and has tests that run gankit's contract checks.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from pathlib import Path

from gankit.errors import GankitError, UsageError
from gankit.plugin.registry import SINGULAR
from gankit.plugin.scaffold_templates import (
    COMPONENTS,
    HOOKS,
    MODULE,
    PYPROJECT,
    README,
    SUMMARY,
    TEST_FILE,
    TESTS,
)

__all__ = ["SCAFFOLD_FAMILIES", "new_plugin"]

# generator, discriminator, loss, penalty, dataset, metric (a scheme: docs/writing-plugins.md)
SCAFFOLD_FAMILIES = tuple(v for v in SINGULAR.values() if v != "scheme")
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*([-_][a-z0-9]+)*$")


def new_plugin(name: str, directory: Path, families: Sequence[str]) -> Path:
    """Create ``directory/gankit-NAME``; return its path. Refuses to overwrite anything."""
    if not _NAME_RE.match(name):
        raise UsageError(
            f"plugin name {name!r} must be lowercase letters and digits, words joined by - or _ "
            "(e.g. 'demo', 'my-gan')"
        )
    unknown = [f for f in families if f not in SCAFFOLD_FAMILIES]
    if unknown:
        raise UsageError(
            f"unknown family {unknown[0]!r} (choose from {', '.join(SCAFFOLD_FAMILIES)})"
        )
    families = [f for f in SCAFFOLD_FAMILIES if f in families] or ["generator", "loss"]
    module = "gankit_" + name.replace("-", "_")
    root = directory / f"gankit-{name}"
    if root.exists():
        raise UsageError(f"{root} already exists; choose another --dir or name")
    base = {"name": name, "module": module}

    def fill(parts: dict[str, str], separator: str = "\n\n\n") -> str:
        return separator.join(string.Template(parts[f]).substitute(base) for f in families)

    needs_numpy = any(f in families for f in ("dataset", "metric"))
    needs_spec = any(f in families for f in ("generator", "discriminator"))
    values = {
        **base,
        "families": ", ".join(families),
        "imports": "import numpy as np\n\n" if needs_numpy else "",
        "components": fill(COMPONENTS),
        "hooks": fill(HOOKS),
        "test_imports": ", ".join(
            (["CONDITIONAL_SPEC"] if needs_spec else []) + [f"check_{f}" for f in families]
        ),
        "tests": fill(TESTS),
        "train_flags": _train_flags(families, name),
        "component_list": "\n".join(f"- {f} `{name}`: {SUMMARY[f]}" for f in families),
    }
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"{module}/__init__.py": MODULE,
        "tests/test_contract.py": TEST_FILE,
    }
    try:
        root.mkdir(parents=True)
        for relative, template in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            text = string.Template(template).substitute(values)
            path.write_text(_tidy(text))
    except OSError as exc:
        raise GankitError(f"cannot write {root}: {exc.strerror or exc}") from None
    return root


def _tidy(text: str) -> str:
    """No runs of more than two blank lines (left by families that were not chosen)."""
    return re.sub(r"\n{4,}", "\n\n\n", text).strip() + "\n"


def _train_flags(families: Sequence[str], name: str) -> str:
    flags = [
        f"--{f} {name}"
        for f in ("generator", "discriminator", "loss", "penalty", "dataset")
        if f in families
    ]
    if "dataset" not in families:
        flags.append("--condition none")
    return " ".join(flags)
