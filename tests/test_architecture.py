"""The house stays in order: gankit's imports form no circle and point down the layers,
modules and functions stay small, and built-in plugins use only the public API.

``python tests/test_architecture.py`` prints the import graph's summary.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "gankit"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

# Each part of gankit and its layer: imports between parts point to a lower layer.
LAYERS = {
    "gankit.errors": 0,
    "gankit.types": 0,
    "gankit._version": 0,
    "gankit._tf": 0,
    "gankit.conditions": -1,  # the vocabulary of conditions: even the plain types use it
    "gankit.scheme": 0,
    "gankit.io": 1,
    "gankit.data": 2,
    "gankit.plugin": 2,
    "gankit.nn": 2,
    "gankit.terms": 3,
    "gankit.run": 3,
    "gankit.eval": 4,
    "gankit.training": 5,
    "gankit.testing": 6,
    "gankit.api": 7,  # gankit from Python: what the commands call
    "gankit.cli": 8,
    "gankit": 9,
    "gankit.__main__": 9,  # the public façade and `python -m gankit`
}
# What built-in plugins may import: the public modules, as docs/api.md lists them.
PUBLIC_MODULES = (
    "gankit",
    "gankit.scheme",
    "gankit.terms",
    "gankit.conditions",
    "gankit.data",
    "gankit.nn.layers",
    "gankit.nn.conditioning",
    "gankit.nn.rotation",
    "gankit.eval.metrics",
    "gankit.testing",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(path: Path, known: set[str]) -> Iterator[str]:
    """gankit modules ``path`` imports, at any depth of its code (functions included)."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1]
                    + ([base] if base else [])
                )
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    yield f"{base}.{alias.name}"
                elif base in known:
                    yield base


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: set(imported_modules(path, set(found))) - {name} for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def part(name: str) -> str:
    """The entry of LAYERS a module belongs to (its longest matching prefix)."""
    candidates = [p for p in LAYERS if name == p or name.startswith(p + ".")]
    return max(candidates, key=len)


def test_no_import_circle():
    found = cycles(import_graph())
    assert not found, "import circles: " + "; ".join(" -> ".join(c) for c in found)


def test_imports_point_down_the_layers():
    wrong = [
        f"{a} ({LAYERS[part(a)]}) imports {b} ({LAYERS[part(b)]})"
        for a, targets in import_graph().items()
        for b in targets
        if part(a) != part(b) and LAYERS[part(a)] <= LAYERS[part(b)]
    ]
    assert not wrong, "imports against the layering:\n" + "\n".join(sorted(wrong))


def test_modules_and_functions_stay_small():
    long_modules = [
        f"{name}: {len(path.read_text().splitlines())} lines"
        for name, path in modules().items()
        if len(path.read_text().splitlines()) > MAX_MODULE_LINES
    ]
    assert not long_modules, f"modules over {MAX_MODULE_LINES} lines: {long_modules}"
    long_functions = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{name}.{node.name}: {length} lines")
    assert not long_functions, f"functions over {MAX_FUNCTION_LINES} lines: {long_functions}"


def test_at_least_four_subpackages_all_packaged():
    subpackages = sorted(module_name(p.parent) for p in PACKAGE.glob("*/__init__.py"))
    assert len(subpackages) >= 4, subpackages
    from gankit.io.toml import loads_toml

    listed = loads_toml((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert set(subpackages) | {"gankit"} <= set(listed), (
        f"pyproject.toml misses {set(subpackages) - set(listed)}"
    )


def public_names(module: str) -> set[str]:
    import importlib

    return set(getattr(importlib.import_module(module), "__all__", ()))


def plugin_sources() -> list[Path]:
    return sorted((REPO / "plugins").glob("*.py")) + sorted(
        (REPO / "examples").rglob("gankit_*/*.py")
    )


@pytest.mark.parametrize("path", plugin_sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_builtin_plugins_use_only_the_public_api(path):
    tree = ast.parse(path.read_text())
    wrong = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and (node.module or "").startswith("gankit")
            and node.level == 0
        ):
            module = node.module or ""
            if module.startswith("gankit_"):
                wrong += [f"{module}.{a.name}" for a in node.names if a.name.startswith("_")]
            elif all(f"{module}.{a.name}" in PUBLIC_MODULES for a in node.names):
                continue  # from gankit.nn import layers
            elif module not in PUBLIC_MODULES:
                wrong.append(f"from {module} import ...")
            else:
                wrong += [
                    f"{module}.{a.name}" for a in node.names if a.name not in public_names(module)
                ]
        elif isinstance(node, ast.Import):
            wrong += [
                a.name
                for a in node.names
                if a.name.startswith("gankit.") and a.name not in PUBLIC_MODULES
            ]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "gankit"
        ):
            if node.attr not in public_names("gankit"):
                wrong.append(f"gankit.{node.attr}")
    assert not wrong, f"{path.name} uses names that are not public: {sorted(set(wrong))}"


def test_import_gankit_loads_neither_tensorflow_nor_the_trainer():
    code = (
        "import sys, gankit\n"
        "loaded = [m for m in sys.modules if m.startswith(('tensorflow', 'keras', "
        "'gankit.training', 'gankit.run', 'gankit.eval', 'gankit.cli', 'gankit.api'))]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def report() -> str:
    graph = import_graph()
    lines = [
        f"{len(graph)} modules, {sum(map(len, graph.values()))} imports between them, "
        f"{len(cycles(graph))} import circles"
    ]
    for _, path in sorted(modules().items()):
        lines.append(f"{len(path.read_text().splitlines()):5d}  {path.relative_to(REPO)}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
