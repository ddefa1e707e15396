"""A run's networks held by role, ready to train: the scheme's roles built, one
optimizer per group, the moving averages, the checkpoint groups and the traced step.

Everything that used to assume one generator and one discriminator iterates the
scheme's roles and groups here: checkpoints hold ``<role>/weights``,
``<group>/optimizer`` and ``<role>/ema``; sync batch norm, DiffAugment (in front of
every discriminator-family role) and the moving average (every averaged role) apply to
any scheme.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gankit.errors import ComponentError
from gankit.nn.precision import dtype_policy
from gankit.run.checkpoints import ema_group, model_variables
from gankit.run.config import RunConfig
from gankit.run.models import Models, build_models
from gankit.run.parsing import parse_augment
from gankit.run.resolve import Resolved
from gankit.training.augment import AugmentedDiscriminator
from gankit.training.distribute import synchronise_batch_norm
from gankit.training.ema import AveragedNetwork, moving_averages
from gankit.training.loop import TrainChunk
from gankit.training.stepper import Stepper

__all__ = ["Training", "build_training"]


@dataclass
class Training:
    """What :func:`build_training` made (see the module docstring)."""

    models: Models
    optimizers: dict[str, Any]
    group_variables: dict[str, list[Any]]
    step_var: Any
    averaged: dict[str, AveragedNetwork] = field(default_factory=dict)
    checkpoint_groups: dict[str, list[Any]] = field(default_factory=dict)
    chunk: Any = None

    def network(self, role: str) -> Any:
        """``role``'s network to sample, evaluate and export: its weights' moving average
        with ``--ema-decay`` (averaged roles), else the trained network."""
        average = self.averaged.get(role)
        return average.model() if average is not None else self.models.nets[role]


def build_training(
    config: RunConfig, resolved: Resolved, strategy: Any, precision: str, jit_compile: bool
) -> Training:
    """Build the run's scheme and networks, optimizers, averages and traced step under
    ``strategy`` and the run's precision (seed the RNG before)."""
    import tensorflow as tf

    from gankit.nn.optimizers import group_optimizers

    c = config
    with strategy.scope(), dtype_policy(precision):
        models = build_models(c, resolved)
        scheme = models.scheme
        if c.sync_batch_norm:
            synchronise_batch_norm(*models.nets.values())
        averaged = averaged_groups(c, scheme)
        optimizers = group_optimizers(
            c, scheme.groups, averaged=averaged, loss_scaling=precision == "mixed_float16"
        )
        variables = {
            g.name: [v for role in g.roles for v in models.nets[role].trainable_variables]
            for g in scheme.groups
        }
        for group in scheme.groups:
            optimizers[group.name].build(variables[group.name])
        step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="gankit_step")
        training = Training(models, optimizers, variables, step_var)
        training.averaged = _averages(training, c)
    training.checkpoint_groups = model_variables(models.nets, optimizers)
    for name, state in (
        getattr(scheme, "state", None) or {}
    ).items():  # e.g. cyclegan's image histories
        training.checkpoint_groups[f"scheme/{name}"] = list(state)
    for role, average in training.averaged.items():
        training.checkpoint_groups[ema_group(role)] = list(average.averages)
    augment = parse_augment(c.augment)
    nets = {
        r.name: AugmentedDiscriminator(models.nets[r.name], augment)
        if augment and r.family == "discriminators"
        else models.nets[r.name]
        for r in scheme.roles
    }
    stepper = Stepper(
        scheme,
        nets,
        variables,
        optimizers,
        views=models.views,
        d_steps=c.d_steps,
        update=c.update,
        replicas=int(strategy.num_replicas_in_sync),
        loss_scaling=precision == "mixed_float16",
        step_var=step_var,
        seed=c.seed,
        no_gradient=getattr(scheme, "no_gradient", None) or _no_gradient(models),
    )
    training.chunk = TrainChunk(strategy, stepper, step_var, jit_compile=jit_compile)
    return training


def averaged_groups(config: RunConfig, scheme: Any) -> set[str]:
    """The groups whose optimizer keeps a moving average (``--ema-decay``)."""
    if not config.ema_decay:
        return set()
    averaged = {r.name for r in scheme.roles if r.averaged}
    return {g.name for g in scheme.groups if averaged & set(g.roles)}


def _averages(training: Training, config: RunConfig) -> dict[str, AveragedNetwork]:
    """A moving-average copy of every averaged role (``--ema-decay``)."""
    if not config.ema_decay:
        return {}
    models, out = training.models, {}
    roles = {r.name: r for r in models.scheme.roles}
    for group in models.scheme.groups:
        averages, start = moving_averages(training.optimizers[group.name]), 0
        for name in group.roles:
            count = len(models.nets[name].trainable_variables)
            if roles[name].averaged and averages:
                copy = models.new_network(roles[name], config.options[roles[name].builder])
                out[name] = AveragedNetwork(
                    models.nets[name], copy, averages[start : start + count]
                )
            start += count
    return out


def _no_gradient(models: Models) -> Any:
    def error(group: str) -> Exception:
        c = models.components["scheme"]
        return ComponentError(
            "scheme", c.name, c.plugin, f"the loss of group '{group}' reaches none of its weights"
        )

    return error
