"""The contract check of a training scheme (``register_schemes``), through the real stepper.

:func:`check_scheme` builds the scheme for a small made-up run, builds every role with
the kit's reference networks (:func:`gankit.testing.reference_generator` and
``reference_discriminator``), and takes real steps with :class:`gankit.training.stepper.Stepper`
(the code the trainer runs), traced in ``tf.function``, under both update rules: each
wanted group gets a finite float scalar loss that reaches its variables, and every
group's weights move.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gankit.conditions import SOURCE
from gankit.scheme import DATA_KINDS, SCHEME_BUILT, SIDES, SchemeContext
from gankit.testing.common import DEFAULT_SPEC, require
from gankit.types import ModelSpec

__all__ = ["check_scheme", "reference_loss_component"]

MODEL_FAMILIES = ("generators", "discriminators")
SOURCE_SHAPE = (32, 32, 1)


class _TinyDataset:
    """A made-up run's data: RGB images, and one-channel sources they are the twins of
    (so every scheme's ``requires`` is met)."""

    image_shape = DEFAULT_SPEC.image_shape
    conditions: dict[str, Any] = {SOURCE: SOURCE_SHAPE}
    default_conditions = ()
    source, paired = SOURCE, True
    splits = {"train": 16, "test": 8}


class _ReferenceLoss:
    """The minimax loss from logits (the kit's stand-in for the run's loss component)."""

    def discriminator_loss(self, ctx: Any) -> Any:
        from keras import ops

        real, fake = ops.cast(ctx.real_logits, "float32"), ops.cast(ctx.fake_logits, "float32")
        return ops.mean(ops.softplus(-real)) + ops.mean(ops.softplus(fake))

    def generator_loss(self, ctx: Any) -> Any:
        from keras import ops

        return ops.mean(ops.softplus(-ops.cast(ctx.fake_logits, "float32")))


def reference_loss_component() -> Any:
    """A registry entry for the kit's reference loss (schemes that use ``context.loss``)."""
    from gankit.plugin.registry import Registry

    def build_reference_loss() -> _ReferenceLoss:
        """The kit's reference minimax loss."""
        return _ReferenceLoss()

    return Registry().register("losses", "reference", build_reference_loss, plugin="gankit.testing")


def check_scheme(
    factory: Callable[..., Any],
    *,
    options: Mapping[str, Any] | None = None,
    batch: int = 8,
    seed: int = 0,
) -> None:
    """Check that ``factory`` builds a scheme meeting the contract (see the module
    docstring); raise ``AssertionError`` naming the first problem."""
    import keras

    from gankit.testing.common import require_registrable

    require_registrable("schemes", factory)
    loss = reference_loss_component()
    context = SchemeContext(
        dataset=_TinyDataset(),
        latent_dim=DEFAULT_SPEC.latent_dim,
        loss=loss.create(),
        components={"loss": loss},
    )
    scheme = factory(context, **dict(options or {}))
    roles, groups = _check_declarations(scheme)
    for update in ("alternating", "simultaneous"):
        keras.utils.set_random_seed(seed)
        nets: dict[str, Any] = {}
        for role in sorted(roles, key=lambda r: r.family == SCHEME_BUILT):
            nets[role.name] = (
                scheme.build_role(role.name, dict(nets))
                if role.family == SCHEME_BUILT
                else _reference_network(role)
            )
        setup = getattr(scheme, "setup", None)
        if setup is not None:
            setup(dict(nets))
        _check_steps(scheme, nets, groups, update, batch, seed)


def _check_declarations(scheme: Any) -> tuple[list[Any], list[Any]]:
    roles, groups = (
        list(getattr(scheme, "roles", ()) or ()),
        list(getattr(scheme, "groups", ()) or ()),
    )
    require(roles, "declares no roles (`roles`: the networks it trains)")
    require(groups, "declares no optimizer groups (`groups`)")
    require(callable(getattr(scheme, "losses", None)), "has no `losses(step)` method")
    require(
        getattr(scheme, "requires", None) in DATA_KINDS,
        f"`requires` must be one of {', '.join(DATA_KINDS)}, is "
        f"{getattr(scheme, 'requires', None)!r}",
    )
    names = [r.name for r in roles]
    require(len(set(names)) == len(names), f"declares a role twice ({', '.join(names)})")
    for role in roles:
        require(
            role.family in MODEL_FAMILIES or role.family == SCHEME_BUILT,
            f"role '{role.name}' is built by family '{role.family}', which builds no network "
            f"(choose from {', '.join(MODEL_FAMILIES)}, or {SCHEME_BUILT!r} with a `build_role` "
            "method)",
        )
        require(
            role.family != SCHEME_BUILT or callable(getattr(scheme, "build_role", None)),
            f"role '{role.name}' is built by the scheme, which has no `build_role(name, nets)` "
            "method",
        )
    for group in groups:
        require(group.side in SIDES, f"group '{group.name}' has side {group.side!r}")
        unknown = [r for r in group.roles if r not in names]
        require(
            not unknown,
            f"group '{group.name}' updates role '{unknown[0] if unknown else ''}', "
            f"which no role declares (roles: {', '.join(names)})",
        )
    prefixes = [g.prefix for g in groups]
    require(
        len(set(prefixes)) == len(prefixes),
        f"two groups log under one prefix ({', '.join(prefixes)})",
    )
    return roles, groups


def _reference_network(role: Any) -> Any:
    from gankit.testing.reference import reference_discriminator, reference_generator

    spec = role.spec if isinstance(role.spec, ModelSpec) else DEFAULT_SPEC
    return (
        reference_generator(spec) if role.family == "generators" else reference_discriminator(spec)
    )


def _stepper(
    scheme: Any, nets: dict[str, Any], groups: list[Any], update: str, seed: int
) -> tuple[Any, Any]:
    """The trainer's stepper over the reference networks, and each group's variables."""
    import keras
    import tensorflow as tf

    from gankit.training.stepper import Stepper

    variables = {g.name: [v for r in g.roles for v in nets[r].trainable_variables] for g in groups}
    for group in groups:
        require(
            variables[group.name],
            f"group '{group.name}' has no trainable variables (roles: {', '.join(group.roles)})",
        )
    optimizers = {g.name: keras.optimizers.Adam(1e-3) for g in groups}
    for g in groups:
        optimizers[g.name].build(variables[g.name])

    def no_gradient(group: str) -> Exception:
        return AssertionError(f"the loss of group '{group}' reaches none of its variables")

    step_var = tf.Variable(0, dtype=tf.int64, trainable=False)
    options = dict(d_steps=1, update=update, replicas=1, loss_scaling=False, step_var=step_var)
    stepper = Stepper(
        scheme, nets, variables, optimizers, seed=seed, no_gradient=no_gradient, **options
    )
    return stepper, variables


def _check_steps(
    scheme: Any, nets: dict[str, Any], groups: list[Any], update: str, batch: int, seed: int
) -> None:
    import tensorflow as tf

    from gankit.errors import GankitError

    stepper, variables = _stepper(scheme, nets, groups, update, seed)
    rng = np.random.default_rng(seed)
    data = {
        "image": rng.uniform(-1, 1, (batch, *DEFAULT_SPEC.image_shape)).astype(np.float32),
        SOURCE: rng.uniform(-1, 1, (batch, *SOURCE_SHAPE)).astype(np.float32),
    }
    before = {g.name: [np.array(v) for v in variables[g.name]] for g in groups}
    try:
        scalars = tf.function(stepper, autograph=False)(data)
    except AssertionError:
        raise
    except GankitError as exc:  # the stepper's contract check: the problem without the name
        raise AssertionError(str(exc).split("': ", 1)[-1]) from None
    except Exception as exc:
        raise AssertionError(
            f"an {update} step failed: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        ) from None
    for group in groups:
        value = float(scalars[f"{group.prefix}_loss"])
        require(
            np.isfinite(value),
            f"the loss of group '{group.name}' is not finite ({value}) on a {update} step",
        )
        moved = any(
            not np.array_equal(a, np.array(v))
            for a, v in zip(before[group.name], variables[group.name])
        )
        require(moved, f"group '{group.name}''s weights did not change on a {update} step")
