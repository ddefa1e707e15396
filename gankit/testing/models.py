"""Contract checks of generator and discriminator factories, and the small reference
models the loss checks train against."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from gankit.conditions import LABEL, SOURCE
from gankit.nn.conditioning import CLASS_LOGITS, input_names, output_names
from gankit.nn.rotation import ROTATION_LOGITS, TURNS
from gankit.testing.common import (
    DEFAULT_SPEC,
    LABEL_SPEC,
    PRECISIONS,
    TRANSLATION_SPEC,
    build_model,
    condition_inputs,
    require,
    require_registrable,
)
from gankit.testing.reference import reference_discriminator, reference_generator
from gankit.types import ModelSpec

__all__ = [
    "check_generator",
    "check_discriminator",
    "reference_generator",
    "reference_discriminator",
]


def check_generator(
    factory: Callable[..., Any],
    *,
    spec: ModelSpec = DEFAULT_SPEC,
    options: Mapping[str, Any] | None = None,
    batch_size: int = 3,
    seed: int = 0,
    precisions: tuple[str, ...] = PRECISIONS,
    label_spec: ModelSpec | None = LABEL_SPEC,
    translation_spec: ModelSpec | None = TRANSLATION_SPEC,
) -> None:
    """Check a generator factory against the contract in ``register_generators``.

    Under every precision the trainer may pick: output shape (B, H, W, C), float32,
    finite, in [-1, 1], and a gradient reaching every trainable weight. In float32
    also: the ``.keras`` round trip (``safe_mode=True``) gives identical outputs, and
    building twice under the same seed gives identical outputs.

    Then the same for ``label_spec`` (classes, a ``label`` input), and the images
    must depend on the label; a factory that raises ``ValueError`` for a spec with
    classes declares it takes none and passes (``label_spec=None`` skips this).

    A **translation** generator (one that builds for ``translation_spec``, taking the
    ``source`` image alone) is checked the same way on its source; one that builds
    only as a translator raises ``ValueError`` for noise specs. It must build as one or
    the other.
    """
    require_registrable("generators", factory)
    translates = translation_spec is not None and _translates(
        factory, translation_spec, options, seed
    )
    try:
        specs = _specs(factory, spec, label_spec, options, seed)
        build_model(factory, spec, options, seed)
    except ValueError:
        if not translates:
            raise
        specs = []  # a translation generator only
    for each in specs:
        _check_generator(factory, each, options, batch_size, seed, precisions)
    if translates:
        import warnings

        with warnings.catch_warnings():  # the kit feeds every model a dict; a one-input model warns
            warnings.filterwarnings("ignore", message="The structure of `inputs`")
            _check_generator(factory, translation_spec, options, batch_size, seed, precisions)


def _translates(
    factory: Callable[..., Any], spec: ModelSpec, options: Mapping[str, Any] | None, seed: int
) -> bool:
    """Whether ``factory`` builds a translation generator (the ``source`` input alone)."""
    from gankit.errors import PluginCodeError

    try:
        model = build_model(factory, spec, options, seed)
    except ValueError:
        return False
    except PluginCodeError as exc:  # a factory composing another through gankit.create
        if isinstance(exc.error, ValueError):
            return False
        raise
    return input_names(model) == [SOURCE]


def _check_generator(
    factory: Callable[..., Any],
    spec: ModelSpec,
    options: Mapping[str, Any] | None,
    batch_size: int,
    seed: int,
    precisions: tuple[str, ...],
) -> None:
    rng = np.random.default_rng(seed)
    inputs = (
        {}
        if spec.translation
        else {"z": rng.standard_normal((batch_size, spec.latent_dim)).astype(np.float32)}
    )
    inputs.update(condition_inputs(spec, batch_size, rng))
    for precision in precisions:
        images = _check_model(factory, spec, options, seed, inputs, "generator", precision)
        expected = (batch_size, *spec.image_shape)
        require(images.shape == expected, f"generator output shape {images.shape} != {expected}")
        require(
            images.min() >= -1.0 and images.max() <= 1.0,
            f"generator output range [{images.min():.3f}, {images.max():.3f}] exceeds [-1, 1] "
            f"under {precision} (end with tanh)",
        )
    if spec.num_classes:
        _check_label_matters(factory, spec, options, seed, inputs, "generator", "images")


def check_discriminator(
    factory: Callable[..., Any],
    *,
    spec: ModelSpec = DEFAULT_SPEC,
    options: Mapping[str, Any] | None = None,
    batch_size: int = 3,
    seed: int = 0,
    precisions: tuple[str, ...] = PRECISIONS,
    label_spec: ModelSpec | None = LABEL_SPEC,
) -> None:
    """Check a discriminator factory against the contract in ``register_discriminators``.

    Under every precision: logits (B, 1) or a patch map (B, h, w, 1), float32 and
    finite; a gradient reaches every trainable weight and the input image (gradient
    penalties need it). In float32 also the ``.keras`` round trip and seeded builds.

    Then the same for ``label_spec``: the logits must depend on the label, or the model
    returns ``{"logits", "class_logits"}`` (an auxiliary classifier, ``(B, classes)``);
    a factory that raises ``ValueError`` for classes declares it takes none. And for
    ``spec`` with ``rotation=True`` (``--rotation``), when the factory builds a model
    with a mapping output for it: ``rotation_logits`` ``(B, 4)`` beside the logits (a
    factory with no such head raises ``ValueError`` or ignores the flag).
    """
    require_registrable("discriminators", factory)
    for each in _specs(factory, spec, label_spec, options, seed):
        _check_discriminator(factory, each, options, batch_size, seed, precisions)
    turning = replace(spec, rotation=True)
    try:
        model = build_model(factory, turning, options, seed)
    except ValueError:
        return  # it has no rotation head: --rotation 0 with it
    if ROTATION_LOGITS in output_names(model):
        _check_discriminator(factory, turning, options, batch_size, seed, precisions)
    # else it ignores spec.rotation (or is a subclassed model, whose outputs show only when
    # called): the trainer refuses it for --rotation


def _check_discriminator(
    factory: Callable[..., Any],
    spec: ModelSpec,
    options: Mapping[str, Any] | None,
    batch_size: int,
    seed: int,
    precisions: tuple[str, ...],
) -> None:
    rng = np.random.default_rng(seed)
    inputs = {"image": rng.uniform(-1, 1, (batch_size, *spec.image_shape)).astype(np.float32)}
    inputs.update(condition_inputs(spec, batch_size, rng))
    for precision in precisions:
        logits = _check_model(
            factory, spec, options, seed, inputs, "discriminator", precision, wrt_input="image"
        )
        require(
            logits.shape[0] == batch_size and logits.shape[-1] == 1 and logits.ndim in (2, 4),
            f"discriminator output shape {logits.shape} is neither (B, 1) nor (B, h, w, 1)",
        )
    if spec.num_classes:
        _check_label_matters(factory, spec, options, seed, inputs, "discriminator", "logits")


def _specs(
    factory: Callable[..., Any],
    spec: ModelSpec,
    label_spec: ModelSpec | None,
    options: Mapping[str, Any] | None,
    seed: int,
) -> list[ModelSpec]:
    """``spec``, and ``label_spec`` unless the factory takes no labels: it raises
    ``ValueError`` for classes or builds a model without a ``label`` input (which the
    trainer refuses for ``--condition label``)."""
    if label_spec is None or spec.num_classes:
        return [spec]
    try:
        model = build_model(factory, label_spec, options, seed)
    except ValueError:
        return [spec]
    return [spec, label_spec] if LABEL in input_names(model) else [spec]


def _check_label_matters(
    factory: Callable[..., Any],
    spec: ModelSpec,
    options: Mapping[str, Any] | None,
    seed: int,
    inputs: dict[str, np.ndarray],
    what: str,
    output: str,
) -> None:
    """The output changes when the labels do (for an auxiliary classifier: its class logits)."""
    model = build_model(factory, spec, options, seed)
    other = {**inputs, LABEL: ((inputs[LABEL] + 1) % spec.num_classes).astype(np.int32)}
    a, b = model(inputs, training=False), model(other, training=False)
    if isinstance(a, Mapping) and CLASS_LOGITS in a:
        return  # the class head reads the image; its training term uses the label
    if isinstance(a, Mapping):  # logits beside a rotation head
        a, b = a["logits"], b["logits"]
    a, b = np.asarray(a), np.asarray(b)
    require(
        not np.allclose(a, b, rtol=0, atol=1e-7),
        f"{what} ignores its label: its {output} do not change when the labels do (a model built "
        "for "
        f"spec.num_classes > 0 must use the `label` input; raise ValueError if it takes no labels)",
    )


def _check_model(
    factory: Callable[..., Any],
    spec: ModelSpec,
    options: Mapping[str, Any] | None,
    seed: int,
    inputs: dict[str, np.ndarray],
    what: str,
    precision: str,
    wrt_input: str | None = None,
) -> np.ndarray:
    """The checks both model families share; returns the inference output."""
    model = build_model(factory, spec, options, seed, precision)
    _check_input_names(model, list(inputs), what)
    out = _main_output(model(inputs, training=False), spec, what)
    require(
        out.dtype == np.float32,
        f"{what} output dtype is {out.dtype} under {precision}, not float32: give the output "
        f'layer dtype="float32" (the trainer builds models under mixed precision policies)',
    )
    require(np.all(np.isfinite(out)), f"{what} output has non-finite values under {precision}")
    _check_traced(model, inputs, out, what, precision)
    _check_gradients(model, inputs, what, precision, wrt_input)
    if precision == "float32":
        _check_round_trip(model, inputs, what)
        again = build_model(factory, spec, options, seed, precision)
        require(
            np.array_equal(out, _main_output(again(inputs, training=False), spec, what)),
            f"{what}: two builds under the same seed differ (build from "
            "keras.utils.set_random_seed)",
        )
    return out


def _main_output(out: Any, spec: ModelSpec, what: str) -> np.ndarray:
    """The model's output, or a discriminator's ``logits`` when it returns a mapping with
    heads beside them (checked here, float32): ``class_logits`` ``(B, classes)`` for an
    auxiliary classifier, ``rotation_logits`` ``(B, 4)`` when built for ``spec.rotation``."""
    if not isinstance(out, Mapping):
        return np.asarray(out)
    heads = {CLASS_LOGITS: spec.num_classes, ROTATION_LOGITS: TURNS if spec.rotation else 0}
    require(
        what == "discriminator"
        and "logits" in out
        and set(out) - {"logits"}
        and set(out) <= {"logits", *heads},
        f"{what} returns a mapping ({', '.join(map(str, out))}); only a discriminator may, with "
        f"`logits` and `{CLASS_LOGITS}` (for classes) or `{ROTATION_LOGITS}` (for spec.rotation)",
    )
    for head, width in heads.items():
        if head not in out:
            continue
        values = np.asarray(out[head])
        require(
            width > 0
            and values.shape == (len(out["logits"]), width)
            and values.dtype == np.float32,
            f"discriminator `{head}` must be float32 of shape (B, {width}), got {values.dtype} "
            f"{values.shape}",
        )
    return np.asarray(out["logits"])


def _check_traced(
    model: Any, inputs: Mapping[str, np.ndarray], eager: np.ndarray, what: str, precision: str
) -> None:
    """Called inside ``tf.function``, as the trainer calls it: same shape, finite."""
    import tensorflow as tf

    from gankit.errors import describe

    try:
        traced = tf.function(lambda x: model(x, training=False))(
            {k: tf.constant(v) for k, v in inputs.items()}
        )
        traced = np.asarray(traced["logits"] if isinstance(traced, Mapping) else traced)
    except Exception as exc:
        raise AssertionError(
            f"{what} works eagerly but fails inside tf.function under {precision}, as the trainer "
            "calls it: "
            f"{describe(exc)}"
        ) from None
    require(
        traced.shape == eager.shape and np.all(np.isfinite(traced)),
        f"{what} inside tf.function gives shape {traced.shape} (eagerly {eager.shape}) or "
        "non-finite values",
    )


def _check_input_names(model: Any, expected: list[str], what: str) -> None:
    names = input_names(model)
    require(sorted(expected) == names, f"{what} inputs are {names}, expected {sorted(expected)}")


def _check_gradients(
    model: Any, inputs: Mapping[str, np.ndarray], what: str, precision: str, wrt_input: str | None
) -> None:
    import tensorflow as tf

    tensors = {k: tf.constant(v) for k, v in inputs.items()}
    with tf.GradientTape() as tape:
        if wrt_input:
            tape.watch(tensors[wrt_input])
        outs = model(tensors, training=True)
        objective = 0.0
        for out in outs.values() if isinstance(outs, Mapping) else [outs]:
            weights = tf.constant(
                np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
            )
            objective += tf.reduce_sum(tf.cast(out, tf.float32) * weights)
    targets = list(model.trainable_variables)
    extra = [tensors[wrt_input]] if wrt_input else []
    grads = tape.gradient(objective, targets + extra)
    # Under a 16-bit policy a tiny gradient may round to zero; missing is always wrong.
    dead = [
        getattr(v, "path", None) or v.name
        for v, g in zip(targets, grads)
        if g is None or (precision == "float32" and not np.any(np.asarray(g)))
    ]
    require(not dead, f"{what}: no gradient reaches {', '.join(dead[:5])} under {precision}")
    if wrt_input:
        require(grads[-1] is not None, f"{what}: no gradient reaches the input `{wrt_input}`")


def _check_round_trip(model: Any, inputs: Mapping[str, np.ndarray], what: str) -> None:
    import keras

    import gankit.nn.layers  # noqa: F401  (registers gankit's layers for load_model)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        model.save(path)
        loaded = keras.models.load_model(path, safe_mode=True, compile=False)
    a, b = model(dict(inputs), training=False), loaded(dict(inputs), training=False)
    a, b = (np.asarray(x["logits"] if isinstance(x, Mapping) else x) for x in (a, b))
    require(
        np.allclose(a, b, rtol=0, atol=1e-6),
        f"{what}: .keras save/load changes the outputs "
        f"(max difference {np.max(np.abs(a - b)):.3g})",
    )


# === Reference models for the loss checks ===
