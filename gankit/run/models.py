"""A run's models: built from its config by the registered factories, or loaded back
from its export or a checkpoint."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gankit.conditions import (
    LABEL,
    SOURCE,
    class_names,
    conditioned_on_label,
    data_problem,
    image_conditions,
)
from gankit.errors import (
    ComponentError,
    ConfigError,
    GankitError,
    PluginCodeError,
    UsageError,
    describe,
)
from gankit.nn.conditioning import input_names, output_names
from gankit.nn.parts import compose_generator, parts_shape, shown_parts
from gankit.nn.precision import dtype_policy
from gankit.nn.rotation import ROTATION_LOGITS
from gankit.plugin.listing import scheme_class
from gankit.plugin.registry import SINGULAR, Component, Registry
from gankit.run.checkpoints import CheckpointStore, ema_group
from gankit.run.config import RunConfig
from gankit.run.provenance import plugin_source_hint
from gankit.run.record import spec_from_record
from gankit.run.resolve import NO_PENALTY, Resolved, resolve_components
from gankit.run.rundir import RunDir
from gankit.scheme import SCHEME_BUILT, Role, SchemeContext
from gankit.types import ModelSpec

__all__ = [
    "Models",
    "model_spec",
    "build_models",
    "exported_roles",
    "load_generator",
    "load_network",
]


@dataclass
class Models:
    """A run's built components: the scheme, its networks by role, the loss and penalty;
    ``components`` are their registry entries (``scheme``, ``generator``,
    ``discriminator``, ``loss``, ``penalty``), for messages that name them."""

    spec: ModelSpec
    nets: dict[str, Any]
    scheme: Any
    loss: Any
    components: dict[str, Component]
    penalty: Any = None  # None: --penalty none
    drawing: Any = (
        None  # --parts: the generator's parts model, z -> {"image", <part>...} (gankit.nn.parts)
    )
    generator_spec: ModelSpec | None = (
        None  # what the run's generator factory built for (default: spec)
    )
    dataset: Any = None
    role_specs: dict[str, ModelSpec] = field(default_factory=dict)

    @property
    def roles(self) -> list[Role]:
        return list(self.scheme.roles)

    @property
    def generator(self) -> Any:
        """The first exported role's network (the ``gan`` scheme's generator)."""
        return self.nets[exported_roles(self.scheme)[0].name]

    @property
    def discriminator(self) -> Any:
        """The first discriminator-family role's network."""
        return next(self.nets[r.name] for r in self.scheme.roles if r.family == "discriminators")

    @property
    def parts(self) -> list[str]:
        """The drawn parts the discriminator sees (``--parts``; empty otherwise)."""
        return shown_parts(self.drawing) if self.drawing is not None else []

    @property
    def views(self) -> dict[str, Any]:
        """Other views of the networks (``gankit.Step.views``)."""
        return {"generator/parts": self.drawing} if self.drawing is not None else {}

    def new_network(self, role: Role, options: dict[str, Any]) -> Any:
        """Another network built as ``role``'s was (for the weights' moving average)."""
        spec = self.role_specs[role.name]
        model = self.components[role.builder].create(spec, **options)
        if self.drawing is not None and role.spec is None and role.family == "generators":
            return compose_generator(model, self.dataset, spec.latent_dim)[0]
        return model


def exported_roles(scheme: Any) -> list[Role]:
    """The roles a run exports (each as ``<export>.keras``), in the scheme's order."""
    return [r for r in scheme.roles if r.export]


def model_spec(config: RunConfig, dataset: Any, parts: list[str] | None = None) -> ModelSpec:
    """What the run's models are built for: the dataset's image shape, the run's condition
    images, and the number of classes when the run is conditioned on the label. With
    ``--parts`` the discriminator's: it sees the image with the ``parts`` shown."""
    names = list(parts or []) if config.parts else config.condition or []
    conditions = {name: tuple(dataset.conditions[name]) for name in image_conditions(names)}
    num_classes = len(class_names(dataset)) if conditioned_on_label(names) else 0
    return ModelSpec(tuple(dataset.image_shape), config.latent_dim, conditions, num_classes)


def scheme_context(
    config: RunConfig, dataset: Any, loss: Any, penalty: Any, components: dict[str, Component]
) -> SchemeContext:
    """What the run's scheme factory sees (``parts`` is filled once the generator is built)."""
    from gankit.plugin.building import is_paired_run

    return SchemeContext(
        dataset=dataset,
        conditions=tuple(config.condition or ()),
        latent_dim=config.latent_dim,
        paired=is_paired_run(dataset, config.condition or []),
        loss=loss,
        penalty=penalty,
        rotation=config.rotation,
        components=components,
    )


def build_models(config: RunConfig, resolved: Resolved) -> Models:
    """Build the scheme, its roles' networks, the loss and the penalty from a resolved
    config (call inside the strategy scope)."""
    dataset, components = resolved.dataset, dict(resolved.components)
    opts = config.options
    loss = components["loss"].create(**opts["loss"])
    penalty = None
    if config.penalty != NO_PENALTY:
        penalty = components["penalty"].create(**opts["penalty"])
    context = scheme_context(config, dataset, loss, penalty, components)
    _check_data(config, components["scheme"], dataset, scheme_class(components["scheme"]))
    scheme = components["scheme"].create(context, **opts.get("scheme", {}))
    scheme.component = components["scheme"]
    _check_data(config, components["scheme"], dataset, scheme)
    if config.eval_every and any(getattr(r.spec, "translation", False) for r in scheme.roles):
        raise ConfigError(
            f"--eval-every: scheme '{config.scheme}' translates images, and gankit's metrics score "
            "generators of noise; train without --eval-every"
        )
    models = Models(
        model_spec(config, dataset), {}, scheme, loss, components, penalty, dataset=dataset
    )
    for role in sorted(
        scheme.roles, key=_build_order
    ):  # G first (--parts), then D, then the scheme's own
        if role.family == SCHEME_BUILT:
            with components["scheme"].calling("build_role"):
                models.nets[role.name] = scheme.build_role(role.name, dict(models.nets))
            continue
        models.nets[role.name] = _build_role(models, role, config)
    models.nets = {r.name: models.nets[r.name] for r in scheme.roles}
    context.parts = tuple(models.parts)
    setup = getattr(scheme, "setup", None)
    if setup is not None:
        with components["scheme"].calling("setup"):
            setup(dict(models.nets))
    return models


def _build_order(role: Role) -> int:
    return {"generators": 0, SCHEME_BUILT: 2}.get(role.family, 1)


def _check_data(config: RunConfig, component: Component, dataset: Any, scheme: Any) -> None:
    """A scheme whose dataset lacks what it ``requires`` fails with one line."""
    problem = data_problem(dataset, getattr(scheme, "requires", "images"))
    if problem:
        raise ComponentError(
            "scheme",
            component.name,
            component.plugin,
            f"cannot train on dataset '{config.dataset}': it {problem}",
        )


def _build_role(models: Models, role: Role, config: RunConfig) -> Any:
    """One role's network: for the spec the scheme gives, else the run's own (the
    dataset's images and conditions; ``--parts``: the generator draws the parts and the
    discriminator sees those it shows; ``--rotation``: a rotation head)."""
    component = models.components[role.builder]
    options = config.options[role.builder]
    if role.spec is not None:
        models.role_specs[role.name] = role.spec
        return _build_model(component, role.spec, options, config.dataset)
    if role.family == "generators":
        spec = (
            ModelSpec(parts_shape(models.dataset), config.latent_dim)
            if config.parts
            else models.spec
        )
        models.generator_spec = models.role_specs[role.name] = spec
        network = _build_model(component, spec, options, config.dataset)
        if not config.parts:
            return network
        try:
            network, models.drawing = compose_generator(network, models.dataset, config.latent_dim)
        except ValueError as exc:
            c = models.components["dataset"]
            raise ComponentError("dataset", c.name, c.plugin, str(exc)) from None
        return network
    spec = model_spec(config, models.dataset, models.parts if models.drawing is not None else None)
    spec = models.role_specs[role.name] = replace(spec, rotation=config.rotation > 0)
    return _build_model(component, spec, options, config.dataset)


def _build_model(
    component: Component, spec: ModelSpec, options: dict[str, Any], dataset: str
) -> Any:
    """A model factory's failure names what the run asked it to build for (a 40-pixel
    dataset and a power-of-two model: which requires what)."""
    try:
        model = component.create(spec, **options)
    except PluginCodeError as exc:
        h, w, c = spec.image_shape
        conditions = "".join(f", {name} {tuple(shape)}" for name, shape in spec.conditions.items())
        conditions += f", {spec.num_classes} classes" if spec.num_classes else ""
        conditions += ", a rotation head" if spec.rotation else ""
        raise ComponentError(
            SINGULAR[component.family],
            component.name,
            component.plugin,
            f"{exc.what} raised {describe(exc.error)} (building for dataset '{dataset}': "
            f"{h}x{w}x{c} images{conditions})",
        ) from exc
    if spec.rotation and ROTATION_LOGITS not in output_names(model):
        raise ComponentError(
            SINGULAR[component.family],
            component.name,
            component.plugin,
            f"returns no `{ROTATION_LOGITS}` (it ignores ModelSpec.rotation), so it cannot train "
            "with "
            "--rotation; pass --rotation 0",
        )
    if spec.translation and input_names(model) != [SOURCE]:
        raise ComponentError(
            SINGULAR[component.family],
            component.name,
            component.plugin,
            "is not a translation generator: it takes "
            f"{', '.join(input_names(model)) or 'no input'}, not "
            f"`{SOURCE}` alone (choose one with --generator, e.g. resnet-translator or unet)",
        )
    if spec.num_classes and LABEL not in input_names(model):
        raise ComponentError(
            SINGULAR[component.family],
            component.name,
            component.plugin,
            f"takes no `label` input, so it cannot train with --condition label (its inputs: "
            f"{', '.join(input_names(model)) or 'none'})",
        )
    return model


def load_generator(
    run: RunDir, registry: Registry, *, best: bool = False
) -> tuple[Any, int | None]:
    """The run's first exported network (the ``gan`` scheme's generator): see
    :func:`load_network`."""
    return load_network(run, registry, best=best)


def load_network(
    run: RunDir,
    registry: Registry,
    *,
    role: str | None = None,
    best: bool = False,
    checkpoint: Path | None = None,
) -> tuple[Any, int | None]:
    """An exported role's network (default: the first): its ``<export>.keras``, else
    the latest checkpoint's weights (with ``--ema-decay`` their moving average).

    A run resumed past its export (training further after it finished) has checkpoints
    newer than the export; then the latest checkpoint wins. ``best=True`` takes
    ``checkpoints/best.npz`` (kept by ``--eval-every``) instead, ``checkpoint`` that
    checkpoint file (a benchmark scoring every snapshot). From a checkpoint only
    this role's network is built, from the component and spec ``run.json`` records; the
    dataset is built only for a ``--parts`` generator (its composing rule is the
    dataset's) or a run recorded before roles were. Returns the model and the
    checkpoint step it came from (None for the export).
    """
    import keras

    if not run.exists():
        raise UsageError(f"{run.path} is not a gankit run directory (no config.toml)")
    info = run.read_run_info()
    recorded = info.get("roles", {})
    exported = [name for name, r in recorded.items() if r.get("export")]
    role = role or (exported[0] if exported else "generator")
    if recorded and role not in recorded:
        raise UsageError(f"{run.path} has no role {role!r} (its roles: {', '.join(recorded)})")
    stem = recorded.get(role, {}).get("export") or role
    latest = _weights_from(run, best, checkpoint)
    export = run.path / f"{stem}.keras"
    export_is_current = (
        not best
        and checkpoint is None
        and (latest is None or info.get("exported_step", -1) >= latest[0])
    )
    if export.is_file() and export_is_current:
        try:
            return keras.models.load_model(export, safe_mode=True, compile=False), None
        except Exception as exc:  # a corrupt zip, a missing custom object, ...
            raise GankitError(f"cannot load {export}: {exc}") from None
    if latest is None:
        raise GankitError(f"{run.path} has neither {export.name} nor a checkpoint yet")
    with dtype_policy(info.get("precision", "float32")):
        network = _rebuild(run, registry, role, recorded.get(role))
    groups = {f"{role}/weights": list(network.weights)}
    if ema_group(role) in CheckpointStore.groups(latest[1]):  # --ema-decay: the average
        groups[ema_group(role)] = list(network.trainable_variables)
    CheckpointStore.load(latest[1], groups)
    return network, latest[0]


def _weights_from(run: RunDir, best: bool, checkpoint: Path | None) -> tuple[int, Path] | None:
    """(step, file) of the checkpoint to load: the one given, the best, else the newest."""
    if checkpoint is not None:
        step = Path(checkpoint).stem.rpartition("_")[2]
        return int(step) if step.isdigit() else -1, Path(checkpoint)
    if best:
        found = run.read_best()
        if found is None:
            raise UsageError(
                f"{run.path} has no best checkpoint (train with --eval-every N to keep one)"
            )
        return int(found["step"]), run.best_checkpoint
    return run.latest_checkpoint()


def _rebuild(run: RunDir, registry: Registry, role: str, recorded: dict[str, Any] | None) -> Any:
    """``role``'s network, untrained, as the run built it."""
    config = run.read_config()
    if recorded is not None and not recorded.get("parts"):
        with plugin_source_hint(run):
            component = registry.get(recorded["family"], recorded["component"])
        options = config.options.get(recorded["builder"], {})
        return _build_model(component, spec_from_record(recorded["spec"]), options, config.dataset)
    with plugin_source_hint(run):
        resolved = resolve_components(config, registry)
    return build_models(config, resolved).nets[role]
