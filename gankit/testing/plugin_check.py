"""``gankit check PLUGIN``: load one plugin, apply the registration rules, and run the
contract kit on every component it registers, one result per check."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gankit.errors import DataError, GankitError, UsageError, describe
from gankit.plugin.loader import (
    ENTRY_POINT_GROUP,
    LoadOptions,
    PluginHost,
    load_plugins,
    local_name,
)
from gankit.plugin.registry import SINGULAR, Component
from gankit.types import DataContext

__all__ = ["CheckResult", "plugin_names", "check_plugin", "load_for_check"]


@dataclass(frozen=True)
class CheckResult:
    """One line of ``gankit check``: ``status`` is ``ok``, ``FAIL`` or ``skip``."""

    status: str
    what: str
    message: str = ""

    def line(self) -> str:
        return f"{self.status:<4} {self.what}" + (f": {self.message}" if self.message else "")


def plugin_names(target: str) -> tuple[LoadOptions, list[str]]:
    """How to load ``target`` (a .py file or package folder, a module, or an installed
    distribution with ``gankit`` entry points) and the plugin names it gives."""
    path = Path(target)
    if target.endswith(".py") or path.is_dir() or "/" in target:
        if path.is_dir():
            path = path / "__init__.py"
        if not path.is_file():
            raise UsageError(f"no such plugin file: {path}")
        return LoadOptions(plugins=[str(path)]), [local_name(str(path))]
    try:
        dist = importlib.metadata.distribution(target)
    except importlib.metadata.PackageNotFoundError:
        return LoadOptions(plugins=[target]), [target]
    names = [ep.name for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP]
    if not names:
        raise UsageError(f"distribution {target!r} declares no '{ENTRY_POINT_GROUP}' entry point")
    return LoadOptions(), names


def check_plugin(
    host: PluginHost, names: list[str], options: Mapping[str, Mapping[str, Any]] | None = None
) -> Iterator[CheckResult]:
    """Results for the plugins ``names`` of ``host``: whether each loaded and registered
    (the registry's rules), then the kit's check of every component it registered.
    ``options`` (``{family: {option: value}}``) go to the factories the checks build
    that have them (``-o metric.extractor=classifier`` reaches FID and KID only)."""
    options = options or {}
    for name in names:
        try:
            record = host.record(name)
        except KeyError:
            yield CheckResult("FAIL", f"plugin '{name}'", "not found (is it installed?)")
            continue
        if record.status != "ok":
            yield CheckResult("FAIL", f"plugin '{name}'", record.error or "failed to load")
            continue
        yield CheckResult(
            "ok", f"plugin '{name}'", f"loaded and registered {len(record.components)} component(s)"
        )
        for component in record.components:  # each option goes to the components that have it
            own = {o.name for o in component.options}
            given = options.get(SINGULAR[component.family], {})
            yield _check_component(component, {k: v for k, v in given.items() if k in own})


def _check_component(component: Component, options: dict[str, Any]) -> CheckResult:
    import tensorflow as tf

    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # the kit traces on purpose: TF's retracing warnings are noise here
    try:
        return _run_check(component, options)
    finally:
        logger.setLevel(level)


def _run_check(component: Component, options: dict[str, Any]) -> CheckResult:
    import gankit.testing as kit

    what = f"{component.label} ({_CHECKS[component.family]})"
    try:
        if component.family == "datasets":
            try:
                dataset = component.create(DataContext.from_env(), **options)
            except UsageError as exc:  # a dataset that needs options (a folder, ...)
                return CheckResult(
                    "skip", what, f"needs options: {exc} (pass -o dataset.KEY=VALUE)"
                )
            kit.check_dataset(dataset)
        else:
            options = component.validate_options(options)  # -o values arrive as text
            getattr(kit, _CHECKS[component.family])(component.factory, options=options)
    except AssertionError as exc:
        return CheckResult(
            "FAIL", what, str(exc).splitlines()[0] if str(exc) else "assertion failed"
        )
    except DataError as exc:  # files or weights this machine lacks: not the plugin's fault
        return CheckResult("skip", what, f"data not available here: {exc}")
    except GankitError as exc:
        return CheckResult("FAIL", what, str(exc))
    except Exception as exc:  # the plugin's own code raised
        return CheckResult("FAIL", what, describe(exc))
    return CheckResult("ok", what)


_CHECKS = {
    "generators": "check_generator",
    "discriminators": "check_discriminator",
    "losses": "check_loss",
    "penalties": "check_penalty",
    "datasets": "check_dataset",
    "metrics": "check_metric",
    "schemes": "check_scheme",
    "loggers": "check_logger",
}


def load_for_check(target: str) -> tuple[PluginHost, list[str]]:
    """The plugin host with ``target`` loaded (built-ins too: a plugin may build on
    them through ``gankit.create``) and the names of ``target``'s plugins."""
    options, names = plugin_names(target)
    if options.plugins:  # a file or module that is loaded anyway (a built-in, an entry point)?
        host = load_plugins()
        known = _loaded_as(host, options.plugins[0])
        if known is not None:
            return host, [known]
    return load_plugins(options), names


def _loaded_as(host: PluginHost, target: str) -> str | None:
    """The name under which ``target`` (a module or file) is already loaded, if it is."""
    wanted = Path(target).resolve() if target.endswith(".py") or "/" in target else None
    for record in host.records:
        plugin = host.pm.get_plugin(record.name)
        if plugin is None:
            continue
        if wanted is None and getattr(plugin, "__name__", None) == target:
            return record.name
        if (
            wanted is not None
            and getattr(plugin, "__file__", None)
            and Path(plugin.__file__).resolve() == wanted
        ):
            return record.name
    return None
