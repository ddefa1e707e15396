"""A run's models: built from its config by the registered factories, or loaded back
from its export or a checkpoint."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from gankit.errors import ComponentError, GankitError, PluginCodeError, UsageError, describe
from gankit.nn.conditioning import input_names, output_names
from gankit.nn.parts import compose_generator, parts_shape, shown_parts
from gankit.nn.precision import dtype_policy
from gankit.nn.rotation import ROTATION_LOGITS
from gankit.plugin.building import class_names
from gankit.plugin.registry import SINGULAR, Component, Registry
from gankit.run.checkpoints import EMA_GROUP, CheckpointStore
from gankit.run.config import RunConfig
from gankit.run.provenance import plugin_source_hint
from gankit.run.resolve import NO_PENALTY, resolve_components
from gankit.run.rundir import RunDir
from gankit.types import LABEL, ModelSpec

__all__ = ["Models", "model_spec", "build_models", "load_generator"]


@dataclass
class Models:
    """A run's built components; ``components`` are their registry entries by role
    (``generator``, ``discriminator``, ``loss``), for messages that name them."""

    spec: ModelSpec
    generator: Any
    discriminator: Any
    loss: Any
    components: dict[str, Component]
    penalty: Any = None  # None: --penalty none
    drawing: Any = None  # --parts: the generator's parts model, z -> {"image", <part>...} (gankit.nn.parts)
    generator_spec: ModelSpec | None = None  # what the generator factory built for (default: spec)
    dataset: Any = None

    @property
    def parts(self) -> list[str]:
        """The drawn parts the discriminator sees (``--parts``; empty otherwise)."""
        return shown_parts(self.drawing) if self.drawing is not None else []

    def new_generator(self, options: dict[str, Any]) -> Any:
        """Another generator built as ``generator`` was (for the weights' moving average)."""
        spec = self.generator_spec or self.spec
        model = self.components["generator"].create(spec, **options)
        return compose_generator(model, self.dataset, spec.latent_dim)[0] if self.drawing is not None else model


def model_spec(config: RunConfig, dataset: Any, parts: list[str] | None = None) -> ModelSpec:
    """What the run's models are built for: the dataset's image shape, the run's condition
    images, and the number of classes when the run is conditioned on the label. With
    ``--parts`` the discriminator's: it sees the image with the ``parts`` shown."""
    names = list(parts or []) if config.parts else config.condition or []
    conditions = {name: tuple(dataset.conditions[name]) for name in names if name != LABEL}
    num_classes = len(class_names(dataset)) if LABEL in names else 0
    return ModelSpec(tuple(dataset.image_shape), config.latent_dim, conditions, num_classes)


def build_models(config: RunConfig, registry: Registry, dataset: Any) -> Models:
    """Build G, D and the loss from a resolved config (call inside the strategy scope)."""
    components = {
        "generator": registry.get("generators", config.generator),
        "discriminator": registry.get("discriminators", config.discriminator),
        "loss": registry.get("losses", config.loss),
    }
    opts = config.options
    g_spec, drawing = model_spec(config, dataset), None
    if config.parts:  # the generator draws the parts; the dataset composes the image of them
        g_spec = ModelSpec(parts_shape(dataset), config.latent_dim)
    generator = _build_model(components["generator"], g_spec, opts["generator"], config.dataset)
    if config.parts:
        try:
            generator, drawing = compose_generator(generator, dataset, config.latent_dim)
        except ValueError as exc:
            c = registry.get("datasets", config.dataset)
            raise ComponentError("dataset", c.name, c.plugin, str(exc)) from None
    spec = model_spec(config, dataset, shown_parts(drawing) if drawing is not None else None)
    d_spec = replace(spec, rotation=config.rotation > 0)
    discriminator = _build_model(components["discriminator"], d_spec, opts["discriminator"], config.dataset)
    loss = components["loss"].create(**opts["loss"])
    penalty = None
    if config.penalty != NO_PENALTY:
        components["penalty"] = registry.get("penalties", config.penalty)
        penalty = components["penalty"].create(**opts["penalty"])
    return Models(spec, generator, discriminator, loss, components, penalty, drawing, g_spec, dataset)


def _build_model(component: Component, spec: ModelSpec, options: dict[str, Any], dataset: str) -> Any:
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
            SINGULAR[component.family], component.name, component.plugin,
            f"{exc.what} raised {describe(exc.error)} (building for dataset '{dataset}': {h}x{w}x{c} images{conditions})",
        ) from exc
    if spec.rotation and ROTATION_LOGITS not in output_names(model):
        raise ComponentError(
            SINGULAR[component.family], component.name, component.plugin,
            f"returns no `{ROTATION_LOGITS}` (it ignores ModelSpec.rotation), so it cannot train with "
            "--rotation; pass --rotation 0",
        )
    if spec.num_classes and LABEL not in input_names(model):
        raise ComponentError(
            SINGULAR[component.family], component.name, component.plugin,
            f"takes no `label` input, so it cannot train with --condition label (its inputs: "
            f"{', '.join(input_names(model)) or 'none'})",
        )
    return model


def load_generator(run: RunDir, registry: Registry, *, best: bool = False) -> tuple[Any, int | None]:
    """The exported ``generator.keras``, else the generator of the latest checkpoint.

    A run resumed past its export (training further after it finished) has checkpoints
    newer than ``generator.keras``; then the latest checkpoint wins. ``best=True``
    takes ``checkpoints/best.npz`` (kept by ``--eval-every``) instead. Returns the
    model and the checkpoint step it came from (None for the export).
    """
    import keras

    if not run.exists():
        raise UsageError(f"{run.path} is not a gankit run directory (no config.toml)")
    latest = run.latest_checkpoint()
    if best:
        found = run.read_best()
        if found is None:
            raise UsageError(f"{run.path} has no best checkpoint (train with --eval-every N to keep one)")
        latest = (int(found["step"]), run.best_checkpoint)
    exported_step = run.read_run_info().get("exported_step", -1)
    export_is_current = not best and (latest is None or exported_step >= latest[0])
    if run.generator_file.is_file() and export_is_current:
        try:
            return keras.models.load_model(run.generator_file, safe_mode=True, compile=False), None
        except Exception as exc:  # a corrupt zip, a missing custom object, ...
            raise GankitError(f"cannot load {run.generator_file}: {exc}") from None
    if latest is None:
        raise GankitError(f"{run.path} has neither generator.keras nor a checkpoint yet")
    config = run.read_config()
    with plugin_source_hint(run):
        dataset = resolve_components(config, registry)
    with dtype_policy(run.read_run_info().get("precision", "float32")):
        models = build_models(config, registry, dataset)
    generator = models.generator
    groups = {"generator/weights": list(generator.weights)}
    if EMA_GROUP in CheckpointStore.groups(latest[1]):  # --ema-decay: sample the average
        groups[EMA_GROUP] = list(generator.trainable_variables)
    CheckpointStore.load(latest[1], groups)
    return generator, latest[0]
