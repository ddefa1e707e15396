"""From a requested config to a resolved one: every name and option validated, every
default filled in, and the decision to start, resume or refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gankit.conditions import LABEL, translation_source
from gankit.errors import ConfigError, GankitError
from gankit.nn.parts import can_compose
from gankit.plugin.building import (
    build_dataset,
    offered_conditions,
    resolve_metrics,
    resolve_selection,
)
from gankit.plugin.registry import Component, Registry
from gankit.run.checkpoints import newest_readable
from gankit.run.config import (
    ALWAYS_LOGGERS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_SOURCE,
    DEFAULT_STEPS,
    NO_PENALTY,
    PARTS_DEFAULTS,
    SCHEME_DECLARED,
    RunConfig,
)
from gankit.run.provenance import plugin_source_hint
from gankit.run.rundir import RunDir
from gankit.scheme import DEFAULT_UNPAIRED_SCHEME

__all__ = [
    "logger_selection",
    "DEFAULT_DISCRIMINATOR",
    "NO_PENALTY",
    "resolve_components",
    "prepare_run",
    "check_resumable",
]

DEFAULT_DISCRIMINATOR = "dcgan"  # when the generator has no discriminator of its name


@dataclass(frozen=True)
class Resolved:
    """What resolving a run's config found: the built dataset, and the registry entry of
    each component (``scheme``, ``generator``, ``discriminator``, ``loss``, ``dataset``,
    ``penalty`` unless ``none``): the one lookup the rest of the run uses."""

    dataset: Any
    components: dict[str, Component]


def resolve_components(
    config: RunConfig, registry: Registry, data_dir: str | Path | None = None
) -> Resolved:
    """Validate every name and option; fill in defaults; build the dataset.

    After this, ``config.discriminator`` and ``config.condition`` are concrete and
    ``config.options`` holds every option of every component with its value.
    """
    _dataset_scheme(config, registry)
    _scheme_components(config, registry)
    config.discriminator = _discriminator_for(config, registry)
    _declared_loss(config, registry)
    resolved, components = _validated_options(config, registry)
    metric = None
    if config.eval_every or config.options.get("metric"):
        metric, resolved["metric"] = resolve_metrics(
            registry, [config.eval_metric], config.options.get("metric", {})
        )[0]
    resolved["logger"] = _logger_options(config, registry)
    config.options = resolved
    config.resolve_training(_declarations(config, components))
    dataset = build_dataset(registry, config.dataset, resolved["dataset"], data_dir)
    _refuse_noise_scheme_on_two_domains(config, dataset)
    _resolve_conditions(config, dataset)
    _resolve_parts(config, dataset)
    _fill_defaults(config)
    if config.eval_every and metric is not None:
        requires = getattr(metric.create(**resolved["metric"]), "requires", ())
        missing = [r for r in requires if r not in config.condition]
        if missing:
            raise ConfigError(
                f"--eval-metric {config.eval_metric} needs a run conditioned on "
                f"{', '.join(missing)}"
            )
    return Resolved(dataset, components)


def _validated_options(
    config: RunConfig, registry: Registry
) -> tuple[dict[str, dict[str, Any]], dict[str, Component]]:
    """Every component's options, checked and complete, and its registry entry."""
    resolved, components = {}, {}
    for single, family, name in (
        ("scheme", "schemes", config.scheme),
        ("generator", "generators", config.generator),
        ("discriminator", "discriminators", config.discriminator),
        ("loss", "losses", config.loss),
        ("penalty", "penalties", config.penalty),
        ("dataset", "datasets", config.dataset),
    ):
        if single == "penalty" and name == NO_PENALTY:
            if config.options.get("penalty"):
                raise ConfigError("-o penalty.* options need a --penalty (it is `none`)")
            continue
        component = components[single] = registry.get(family, name)
        try:
            resolved[single] = component.validate_options(config.options.get(single, {}))
        except ConfigError:
            raise
        except Exception as exc:
            raise type(exc)(f"{single} '{component.name}': {exc}") from None
    return resolved, components


def _logger_options(config: RunConfig, registry: Registry) -> dict[str, Any]:
    """The selected loggers' options, validated (each ``-o logger.K=V`` goes to every
    selected logger that has option K)."""
    merged: dict[str, Any] = {}
    for _, own in logger_selection(config, registry):
        merged.update(own)
    return merged


def logger_selection(config: RunConfig, registry: Registry) -> list[tuple[Component, Any]]:
    """The run's loggers (``jsonl`` first, always) with their validated options."""
    names = [*ALWAYS_LOGGERS, *config.loggers]
    return resolve_selection(registry, "loggers", names, config.options.get("logger", {}))


def _declarations(config: RunConfig, components: dict[str, Component]) -> list[tuple[str, Any]]:
    """The components' declared training settings, the most important first: the loss's,
    the penalty's, the discriminator's, the generator's, the scheme's (a scheme or model
    that names the run's loss comes first: it also sets how it trains with it, as
    ``fastcut``'s slower discriminator)."""
    order = ["loss", "penalty", "discriminator", "generator", "scheme"]
    labels = {s: components[s].label for s in ("scheme", "discriminator", "generator")}
    declarer = next((s for s, label in labels.items() if config.sources.get("loss") == label), None)
    if declarer:
        order.remove(declarer)
        order.insert(0, declarer)
    return [(components[s].label, components[s].training) for s in order if s in components]


def _fill_defaults(config: RunConfig) -> None:
    """The settings nothing gave: --parts's recipe, else gankit's defaults."""
    for key, value in PARTS_DEFAULTS.items() if config.parts else ():
        if getattr(config, key) is None:
            setattr(config, key, value)
            config.sources[key] = "gankit default for --parts"
    if config.ema_decay is None:
        config.ema_decay = 0.0
    if config.batch_size is None:
        config.batch_size = DEFAULT_BATCH_SIZE
    if config.steps is None:
        config.steps = DEFAULT_STEPS[bool(config.condition)]


def _dataset_scheme(config: RunConfig, registry: Registry) -> None:
    """The scheme the dataset declares (``mnist-cifar-unpaired``: ``fastcut``), where no
    layer named one."""
    if "scheme" in config.sources:
        return
    dataset = registry.get("datasets", config.dataset)
    if dataset.training.scheme:
        config.scheme = dataset.training.scheme
        config.sources["scheme"] = dataset.label


def _refuse_noise_scheme_on_two_domains(config: RunConfig, dataset: Any) -> None:
    """A folder of two unpaired domains with no ``--scheme``: the default ``gan`` scheme
    would learn domain B alone; say which schemes translate instead."""
    if (
        config.sources.get("scheme", DEFAULT_SOURCE) == DEFAULT_SOURCE
        and config.scheme == "gan"
        and translation_source(dataset) is not None
        and not getattr(dataset, "paired", False)
    ):
        raise ConfigError(
            f"dataset '{config.dataset}' holds two unpaired domains: choose a translation scheme "
            f"with --scheme {DEFAULT_UNPAIRED_SCHEME} (the default for unpaired pictures), "
            "cyclegan or cut"
        )


def _scheme_components(config: RunConfig, registry: Registry) -> None:
    """The networks, loss, batch, length and weight average the scheme declares
    (``cyclegan``: ``resnet-translator``, ``patchgan``, ``lsgan``), where no layer gave
    them."""
    scheme = registry.get("schemes", config.scheme)
    declared = scheme.training.declared()
    for key in SCHEME_DECLARED:
        if key in declared and key not in config.sources:
            setattr(config, key, declared[key])
            config.sources[key] = scheme.label


def _discriminator_for(config: RunConfig, registry: Registry) -> str:
    """The named discriminator, else the generator's namesake, else the default DCGAN one:
    a plugin that adds only a generator trains without naming a discriminator."""
    registry.get("generators", config.generator)
    if config.discriminator is not None:
        return config.discriminator
    for candidate in (config.generator, DEFAULT_DISCRIMINATOR):
        if ("discriminators", candidate) in registry:
            return candidate
    raise ConfigError(
        f"no discriminator named '{config.generator}'; choose one with --discriminator "
        f"(available: {', '.join(registry.names('discriminators')) or 'none'})"
    )


def _declared_loss(config: RunConfig, registry: Registry) -> None:
    """The loss the discriminator (else the generator) declares, when no layer named one."""
    if "loss" in config.sources:
        return
    for family, name in (
        ("discriminators", config.discriminator),
        ("generators", config.generator),
    ):
        component = registry.get(family, name)
        declared = component.training.declared().get("loss")
        if declared:
            config.loss, config.sources["loss"] = declared, component.label
            return


def _resolve_conditions(config: RunConfig, dataset: Any) -> None:
    if config.condition is None:
        config.condition = list(dataset.default_conditions)
        config.sources["condition"] = f"dataset '{config.dataset}'"
    offered = offered_conditions(dataset)
    unknown = [c for c in config.condition if c not in offered]
    if unknown:
        available = (
            f"available: {', '.join(offered)}, or 'none'"
            if offered
            else "it takes only --condition none"
        )
        why = "; `label` needs a dataset with two or more classes" if LABEL in unknown else ""
        raise ConfigError(
            f"dataset '{config.dataset}' has no condition {', '.join(repr(u) for u in unknown)} "
            f"({available}){why}"
        )


def _resolve_parts(config: RunConfig, dataset: Any) -> None:
    """``--parts``: on by default for an unconditional run of a dataset that composes its
    image from its condition images (``compose_parts``); only for such runs."""
    composes = can_compose(dataset)
    if config.parts is None:
        config.parts = composes and not config.condition
        if config.parts:
            config.sources["parts"] = f"dataset '{config.dataset}'"
        return
    if config.parts and config.condition:
        raise ConfigError(
            "--parts is for unconditional runs (--condition none): a conditional run is given its "
            "parts"
        )
    if config.parts and not composes:
        raise ConfigError(
            f"dataset '{config.dataset}' does not say how its image is made of parts (no "
            "compose_parts); "
            "train it with --no-parts"
        )


def prepare_run(
    run: RunDir,
    requested: RunConfig,
    registry: Registry,
    *,
    data_dir: str | None = None,
    force: bool = False,
) -> tuple[RunConfig, Resolved, int]:
    """Validate the config, then decide: new run, resume, or refuse.

    Returns the config to train with (fully resolved), what it resolved to, and the step
    of the checkpoint to resume from (0 for a new run). Builds no model and writes
    nothing (the trainer's chief creates the folders), so every worker of a
    multi-worker job can call it.
    """
    with plugin_source_hint(run):
        resolved = resolve_components(requested, registry, data_dir)
    if run.path.exists() and not run.exists() and not run.is_unused():
        raise GankitError(
            f"{run.path} exists and is not a gankit run directory; choose another --out"
        )
    if not run.exists():
        return requested, resolved, 0
    check_resumable(run.read_config(), requested, force)
    latest, _ = newest_readable(run)
    step = latest[0] if latest else 0
    if step >= requested.steps:
        status = run.read_run_info().get("status", "unknown")
        raise GankitError(
            f"{run.path} already trained to step {step} (status: {status}); pass --steps "
            f"greater than {step} to continue, or choose another --out"
        )
    return requested, resolved, step


def check_resumable(saved: RunConfig, requested: RunConfig, force: bool) -> None:
    """A resumed run must train the same thing; only RESUMABLE_KEYS may differ."""
    old, new = saved.to_dict(), requested.to_dict()
    for config in (old, new):
        for family in RunConfig.RESUMABLE_OPTIONS:
            config["options"].pop(family, None)
    conflicts = [
        f"{key}: {old[key]!r} -> {new[key]!r}"
        for key in old
        if key not in RunConfig.RESUMABLE_KEYS and old[key] != new[key]
    ]
    if conflicts and not force:
        raise ConfigError(
            "the run directory was made with another config ("
            + "; ".join(conflicts)
            + "); pass --force to resume with the new one, or choose another --out"
        )
