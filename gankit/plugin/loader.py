"""Plugin loading: built-ins, entry points and local plugins, each isolated.

Order: the built-ins named in ``registry.toml``; installed distributions in the
entry-point group ``gankit`` (unless ``GANKIT_DISABLE_PLUGIN_AUTOLOAD=1``); local
plugins from ``--plugin`` / ``GANKIT_PLUGINS`` (modules or ``.py`` files) and from
user registry files (``--registry FILE``).

pluggy's ``load_setuptools_entrypoints`` imports every entry point bare, so one
broken plugin would take the host down. Here each plugin is imported, validated and
asked for its components on its own; any failure marks just that plugin ``error``
with its message, and its components are not registered.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import pluggy

from gankit.errors import ConfigError, DuplicateComponentError, PluginError, describe
from gankit.io.toml import read_toml_file
from gankit.plugin import hookspecs
from gankit.plugin.registry import FAMILIES, SINGULAR, Component, Registry

__all__ = [
    "ENTRY_POINT_GROUP",
    "LoadOptions",
    "PluginRecord",
    "PluginHost",
    "load_plugins",
    "builtin_registry_path",
    "reload_advice",
]

ENTRY_POINT_GROUP = "gankit"
Source = Literal["builtin", "entry-point", "local"]


@dataclass
class PluginRecord:
    """What ``gankit list-plugins`` reports about one plugin."""

    name: str
    version: str | None
    source: Source
    status: Literal["ok", "error"] = "ok"
    error: str | None = None
    components: list[Component] = field(default_factory=list)
    traceback: str | None = field(default=None, repr=False)
    via: str = (
        "registry.toml"  # registry.toml, entry point, --plugin, GANKIT_PLUGINS, --registry FILE
    )
    target: str | None = (
        None  # the module or absolute file path loaded; for entry points, the distribution
    )

    def origin(self) -> dict[str, Any]:
        """Where the plugin came from, as ``run.json`` records it (see :func:`reload_advice`)."""
        return {"source": self.source, "via": self.via, "target": self.target}

    def fail(self, message: str) -> None:
        self.status, self.error, self.components = "error", message, []


@dataclass(frozen=True)
class LoadOptions:
    """Where to look for plugins; the CLI's group options map onto this."""

    plugins: Sequence[str] = ()
    registries: Sequence[str | Path] = ()
    disabled: Sequence[str] = ()
    env: Mapping[str, str] | None = None  # None: os.environ

    def environ(self) -> Mapping[str, str]:
        return os.environ if self.env is None else self.env


@dataclass
class PluginHost:
    """A loaded plugin manager with its records and the registry they filled."""

    pm: pluggy.PluginManager
    records: list[PluginRecord]
    registry: Registry

    def record(self, name: str) -> PluginRecord:
        for rec in self.records:
            if rec.name == name:
                return rec
        raise KeyError(name)

    def warnings(self) -> list[str]:
        """One line per plugin the user named (``--plugin``, ``GANKIT_PLUGINS``, a registry
        file) that failed to load or was refused: every command prints them."""
        return [
            f"plugin '{r.name}' was not loaded: {r.error}"
            for r in self.records
            if r.source == "local" and r.status == "error"
        ]


def builtin_registry_path() -> Path:
    """``registry.toml``: inside the installed package, or at the source checkout's root."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "registry.toml"
    return installed if installed.is_file() else package.parent / "registry.toml"


def read_registry_file(path: str | Path) -> dict[str, str]:
    """``{plugin name: module or file}`` from a registry file's ``[plugins]`` table.

    Relative ``.py`` paths are resolved against the file's folder.
    """
    path = Path(path)
    data = read_toml_file(path, "registry file")
    plugins = data.get("plugins")
    if not isinstance(plugins, dict) or not all(isinstance(v, str) for v in plugins.values()):
        raise ConfigError(
            f'registry file {path} needs a [plugins] table of name = "module or file.py"'
        )
    resolved = {}
    for name, target in plugins.items():
        if target.endswith(".py") and not Path(target).is_absolute():
            target = str((path.parent / target).resolve())
        resolved[name] = target
    return resolved


def load_plugins(options: LoadOptions | None = None) -> PluginHost:
    """Load every plugin and register its components; never raises for a bad plugin."""
    options = options or LoadOptions()
    env = options.environ()
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    if env.get("GANKIT_TRACE_PLUGINS", "") not in ("", "0"):
        pm.add_hookcall_monitoring(_trace_before, _trace_after)
    host = PluginHost(pm, [], Registry())
    disabled = set(options.disabled)
    taken: dict[str, PluginRecord] = {}
    for record, load in _candidates(options, env):
        if record.name in disabled:
            disabled.discard(record.name)  # of two plugins with one name, the first is skipped
            continue
        host.records.append(record)
        if record.name in taken:
            _refuse_duplicate_name(record, taken[record.name])
        else:
            taken[record.name] = record
            _load_one(host, record, load)
        if record.status == "error":
            host.registry.failed_plugins[record.name] = record.error or "failed"
    return host


def _refuse_duplicate_name(record: PluginRecord, first: PluginRecord) -> None:
    """A second plugin under a taken name: refused in one line, and listed under its
    target so that no two plugins ever show under one name."""
    name, where = record.name, record.target or record.name
    record.name = where if where != name else f"{name} ({record.via})"
    advice = (
        "a local plugin is named after its file (a package after its folder): rename the file, "
        f"or give it another name in a registry file ([plugins] my_{name.replace('-', '_')} = "
        f'"{where}")'
        if record.source == "local"
        else "uninstall one of the two distributions"
    )
    record.fail(
        f"its name '{name}' is taken by the {_kind(first)} plugin '{name}'"
        f"{f' ({first.target})' if first.target else ''}; {advice}, or pass --disable-plugin "
        f"{name} "
        f"to skip the {_kind(first)} one"
    )


def _kind(record: PluginRecord) -> str:
    return {"builtin": "built-in", "entry-point": "installed"}.get(record.source, "local")


def reload_advice(origin: dict[str, Any]) -> str:
    """How to load a plugin again, from what :meth:`PluginRecord.origin` recorded."""
    via, target = origin.get("via"), origin.get("target")
    if via == "--plugin":
        return f"pass --plugin {target} again"
    if via == "GANKIT_PLUGINS":
        return f"set GANKIT_PLUGINS={target} again (or pass --plugin {target})"
    if isinstance(via, str) and via.startswith("--registry"):
        return f"pass {via} again"
    if via == "entry point":
        return f"install the distribution {target!r} again (it provided the plugin)"
    return f"it was built into gankit ({target}); check registry.toml of this installation"


def _candidates(
    options: LoadOptions, env: Mapping[str, str]
) -> Iterator[tuple[PluginRecord, Callable[[], Any]]]:
    from gankit._version import __version__

    try:
        builtins = read_registry_file(builtin_registry_path())
    except ConfigError as exc:
        yield PluginRecord("registry.toml", __version__, "builtin"), _raiser(exc)
        builtins = {}
    for name, target in builtins.items():
        yield PluginRecord(name, __version__, "builtin", target=target), _importer(target, name)

    if env.get("GANKIT_DISABLE_PLUGIN_AUTOLOAD", "") in ("", "0"):
        for ep in _entry_points():
            version = ep.dist.version if ep.dist is not None else None
            dist = ep.dist.metadata["Name"] if ep.dist is not None else ep.value
            yield (
                PluginRecord(ep.name, version, "entry-point", via="entry point", target=dist),
                ep.load,
            )

    local = [("--plugin", p) for p in options.plugins]
    local += [
        ("GANKIT_PLUGINS", p.strip()) for p in env.get("GANKIT_PLUGINS", "").split(",") if p.strip()
    ]
    for via, target in local:
        target = _absolute(target)
        yield (
            PluginRecord(local_name(target), None, "local", via=via, target=target),
            _importer(target, local_name(target)),
        )
    for registry_file in options.registries:
        via = f"--registry {Path(registry_file).resolve()}"
        try:
            entries = read_registry_file(registry_file)
        except ConfigError as exc:
            yield PluginRecord(str(registry_file), None, "local", via=via), _raiser(exc)
            continue
        for name, target in entries.items():
            yield PluginRecord(name, None, "local", via=via, target=target), _importer(target, name)


def _absolute(target: str) -> str:
    """A plugin file's absolute path (a module name stays as it is), so a run records
    where to find it from any folder."""
    if target.endswith(".py") or os.sep in target or "/" in target:
        return str(Path(target).resolve())
    return target


def _entry_points() -> Iterable[importlib.metadata.EntryPoint]:
    seen = set()
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in seen:  # the same distribution visible twice on sys.path
            seen.add(ep.name)
            yield ep


def _load_one(host: PluginHost, record: PluginRecord, load: Callable[[], Any]) -> None:
    try:
        plugin = load()
    except BaseException as exc:  # an import can raise anything, SystemExit included
        if isinstance(exc, KeyboardInterrupt):
            raise
        record.fail(f'Error importing plugin "{record.name}": {describe(exc)}')
        record.traceback = traceback.format_exc()
        return
    if record.version is None:
        record.version = getattr(plugin, "__version__", None)
    try:
        host.pm.register(plugin, name=record.name)
    except Exception as exc:
        record.fail(f'Plugin "{record.name}" is invalid: {describe(exc)}')
        return
    try:
        _check_hooks(host.pm, plugin)
        staged = _collect_components(host.pm, plugin, record.name)
        for component in staged:
            if (component.family, component.name) in host.registry:
                existing = host.registry.get(component.family, component.name)
                raise DuplicateComponentError(
                    f"{SINGULAR[component.family]} '{component.name}' is registered by both plugin "
                    f"'{existing.plugin}' "
                    f"and plugin '{record.name}'"
                )
        for component in staged:
            host.registry.register(
                component.family,
                component.name,
                component.factory,
                summary=component.summary,
                plugin=record.name,
                training=component.training,
            )
        record.components = staged
    except Exception as exc:
        host.pm.unregister(plugin)
        if isinstance(exc, PluginError):
            record.fail(str(exc))
        else:
            record.fail(f'Plugin "{record.name}" failed: {describe(exc)}')


def _check_hooks(pm: pluggy.PluginManager, plugin: object) -> None:
    """Reject hook implementations that match no spec (a misspelled hook name)."""
    import difflib

    for caller in pm.get_hookcallers(plugin) or ():
        if not caller.has_spec():
            close = difflib.get_close_matches(caller.name, _spec_names(), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise PluginError(f"unknown hook '{caller.name}'{hint}")


def _spec_names() -> list[str]:
    return [name for name in dir(hookspecs) if name.startswith("register_")]


def _collect_components(pm: pluggy.PluginManager, plugin: object, name: str) -> list[Component]:
    """Call each family's hook of ``plugin`` alone, into a scratch registry."""
    scratch = Registry()
    others = [p for p in pm.get_plugins() if p is not plugin]
    for family in FAMILIES:
        caller = pm.subset_hook_caller(f"register_{family}", remove_plugins=others)

        def register(
            component_name: str,
            factory: Any,
            *,
            summary: str | None = None,
            training: Any = None,
            _f=family,
        ) -> None:
            scratch.register(
                _f, component_name, factory, summary=summary, plugin=name, training=training
            )

        caller(register=register)
    return scratch.components()


def _importer(target: str, name: str) -> Callable[[], ModuleType]:
    def load() -> ModuleType:
        if target.endswith(".py") or os.sep in target or "/" in target:
            return _import_file(Path(target), name)
        return importlib.import_module(target)

    return load


def _import_file(path: Path, name: str) -> ModuleType:
    if not path.is_file():
        raise FileNotFoundError(f"no such plugin file: {path}")
    module_name = "gankit_local_" + "".join(c if c.isalnum() else "_" for c in name)
    # a package's __init__.py loads as the package, so its relative imports work
    package_dir = [str(path.parent)] if path.name == "__init__.py" else None
    spec = importlib.util.spec_from_file_location(
        module_name, path, submodule_search_locations=package_dir
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def local_name(target: str) -> str:
    """A local plugin's name: the file's stem, or the package folder's name for a
    package's ``__init__.py``, or the module path."""
    if target.endswith(".py"):
        path = Path(target)
        return path.resolve().parent.name if path.stem == "__init__" else path.stem
    return target


def _raiser(exc: Exception) -> Callable[[], Any]:
    def load() -> Any:
        raise exc

    return load


def _trace_before(hook_name: str, hook_impls: list, kwargs: dict) -> None:
    plugins = ", ".join(impl.plugin_name for impl in hook_impls)
    print(f"gankit: calling {hook_name} on [{plugins}]", file=sys.stderr)


def _trace_after(outcome: Any, hook_name: str, hook_impls: list, kwargs: dict) -> None:
    status = "failed" if outcome.exception is not None else "ok"
    print(f"gankit: {hook_name} {status}", file=sys.stderr)
