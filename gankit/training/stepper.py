"""The stepper: the only code that differentiates a scheme's losses and applies updates.

It runs on one replica inside ``strategy.run`` (:class:`gankit.training.loop.TrainChunk`
traces it into one ``tf.function``). A step takes ``d_steps`` global batches (each
replica its slice of each): every discriminator-side group updates on batches ``0 ..
d_steps - 2`` alone, each with its own noise stream; on the last batch the update rule
decides:

- ``alternating`` (the default; the DCGAN reference loop): the discriminator side's
  losses, applied; then the generator side's, which see the updated discriminators. One
  walk: the scheme's ``forward`` (the generator's fakes), recorded on every group's
  tape, serves both updates, and each phase's losses are recorded on its own tapes only;
- ``simultaneous`` (TensorFlow's DCGAN tutorial): all losses from one forward pass,
  every group stepping from the same position.

A group's loss is divided by the replica count, so the gradients the optimizer sums
over replicas are those of the global-batch mean, and scaled under ``mixed_float16``.
Noise comes from stateless RNG keyed by (seed, step, stream, salt) for the whole global
batch, each replica taking its slice: distinct for every step and stream, and the same
on N replicas as on one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gankit.errors import ComponentError
from gankit.scheme import Group, Step
from gankit.terms.base import split_loss_output
from gankit.types import UPDATE_RULES

__all__ = ["Stepper", "group_losses"]

Scalars = dict[str, Any]
NOISE_KEY = (
    0x6A6B  # mixed into every noise key: gankit's noise differs from other users of the seed
)


class Stepper:
    """The per-replica step of a scheme (call it inside ``strategy.run``).

    Args:
        scheme: the scheme object (``groups``, ``losses``).
        nets: the networks by role as the scheme calls them (DiffAugment in front of
            discriminators); ``views`` other views of them (``Step.views``).
        variables: each group's trainable variables (of the models themselves).
        optimizers: each group's optimizer (``LossScaleOptimizer`` under mixed_float16).
        d_steps: discriminator-side updates per step (and batches per step).
        update: ``"alternating"`` or ``"simultaneous"``.
        replicas: the strategy's number of replicas in sync.
        loss_scaling: whether the optimizers scale losses (mixed_float16).
        step_var: the global step variable (read for the noise key).
        seed: the run's seed (the noise key).
        no_gradient: ``no_gradient(group)``: the error to raise when a group's loss
            reaches none of its variables.
    """

    def __init__(
        self,
        scheme: Any,
        nets: Mapping[str, Any],
        variables: Mapping[str, list[Any]],
        optimizers: Mapping[str, Any],
        *,
        views: Mapping[str, Any] | None = None,
        d_steps: int,
        update: str,
        replicas: int,
        loss_scaling: bool,
        step_var: Any,
        seed: int,
        no_gradient: Callable[[str], Exception],
    ) -> None:
        if update not in UPDATE_RULES:
            raise ValueError(
                f"`update` must be one of {', '.join(UPDATE_RULES)}, received `{update}`."
            )
        self.scheme, self.nets, self.views = scheme, dict(nets), dict(views or {})
        self.variables, self.optimizers = variables, optimizers
        self.groups: list[Group] = list(scheme.groups)
        self.d_side = [g for g in self.groups if g.side == "discriminator"]
        self.g_side = [g for g in self.groups if g.side == "generator"]
        self.d_steps, self.update = d_steps, update
        self.replicas, self.loss_scaling, self.step_var, self.seed = (
            replicas,
            loss_scaling,
            step_var,
            seed,
        )
        self.no_gradient = no_gradient

    def __call__(self, batch: dict[str, Any]) -> Scalars:
        """One step on this replica's slices of the step's batches; returns the scalars
        to log: each group's ``<prefix>_loss`` and extras ``<prefix>_<name>``, the
        discriminator side's averaged over its updates."""
        import tensorflow as tf

        parts = {key: tf.split(value, self.d_steps) for key, value in batch.items()}
        batches = [{key: parts[key][k] for key in parts} for k in range(self.d_steps)]
        step = self.step_var.read_value()
        updates: list[Scalars] = (
            [self.walk([self.d_side], batches[k], step, k) for k in range(self.d_steps - 1)]
            if self.d_side
            else []
        )
        if self.update == "simultaneous":
            phases = [self.d_side + self.g_side]
        else:
            phases = [p for p in (self.d_side, self.g_side) if p]
        last = self.walk(phases, batches[-1], step, self.d_steps - 1)
        scalars: Scalars = {}
        for group in self.groups:
            prefix = f"{group.prefix}_"
            runs = [u for u in [*updates, last] if any(k.startswith(prefix) for k in u)]
            for key in (k for k in last if k.startswith(prefix)):
                scalars[key] = (
                    tf.add_n([u[key] for u in runs]) / len(runs) if len(runs) > 1 else last[key]
                )
        return scalars

    def walk(
        self, phases: Sequence[Sequence[Group]], batch: dict[str, Any], step: Any, stream: int
    ) -> Scalars:
        """One walk over ``phases`` on ``batch`` with noise ``stream``: each phase's losses
        are asked for together, differentiated, then applied; a later phase sees the
        updates of the earlier ones. Every group's tape records from the walk's start."""
        import tensorflow as tf

        size = tf.shape(batch["image"] if "image" in batch else next(iter(batch.values())))[0]
        ctx = Step(
            self.nets,
            self.views,
            batch,
            step,
            (),
            lambda dim, salt=0: self.noise(size, dim, step, stream, salt),
        )
        scalars: Scalars = {}
        with contextlib.ExitStack() as stack:
            tapes = {
                g.name: stack.enter_context(tf.GradientTape()) for phase in phases for g in phase
            }
            forward = getattr(self.scheme, "forward", None)
            ctx.shared = forward(ctx) if forward is not None else None  # recorded on every tape
            for index, phase in enumerate(phases):
                with contextlib.ExitStack() as paused:  # a later phase's tapes skip this one
                    for later in phases[index + 1 :]:
                        for group in later:
                            paused.enter_context(tapes[group.name].stop_recording())
                    ctx.wanted = tuple(g.name for g in phase)
                    losses = group_losses(self.scheme, ctx)
                    pending = []
                    for group in phase:
                        terms = losses[group.name]
                        opt = self.optimizers[group.name]
                        grads = tapes[group.name].gradient(
                            self.scale(opt, terms["loss"]), self.variables[group.name]
                        )
                        if all(g is None for g in grads):
                            raise self.no_gradient(group.name)
                        pending.append((opt, grads, self.variables[group.name]))
                        scalars.update({f"{group.prefix}_{k}": v for k, v in terms.items()})
                    for opt, grads, variables in pending:
                        opt.apply(grads, variables)
        return scalars

    def scale(self, opt: Any, value: Any) -> Any:
        value = value / float(self.replicas)  # the optimizer sums gradients over replicas
        return opt.scale_loss(value) if self.loss_scaling else value

    def noise(self, batch: Any, dim: int, step: Any, stream: int, salt: int = 0) -> Any:
        """This replica's slice of the global batch's noise for (seed, step, stream, salt)."""
        import tensorflow as tf

        replica = tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group, tf.int32)
        key = tf.constant([self.seed, NOISE_KEY], tf.int64)
        key = tf.random.experimental.stateless_fold_in(key, step)
        key = tf.random.experimental.stateless_fold_in(key, tf.constant(stream, tf.int64))
        if salt:
            key = tf.random.experimental.stateless_fold_in(key, tf.constant(salt, tf.int64))
        z = tf.random.stateless_normal((batch * self.replicas, dim), seed=key)
        return z[replica * batch : (replica + 1) * batch]


def group_losses(scheme: Any, step: Step, component: Any = None) -> dict[str, Scalars]:
    """``scheme.losses(step)`` checked against the contract: a loss for every wanted
    group, each a scalar (or a mapping with ``loss``), as float32 :data:`Scalars`. A
    violation is a ``ComponentError`` naming the scheme (``component``: its registry
    entry, else ``scheme.component``)."""
    component = component or getattr(scheme, "component", None)

    def fail(message: str) -> ComponentError:
        if component is None:
            return ComponentError("scheme", type(scheme).__name__, "<unknown>", message)
        return ComponentError("scheme", component.name, component.plugin, message)

    if component is not None:
        with component.calling("losses"):
            out = scheme.losses(step)
    else:
        out = scheme.losses(step)
    if not isinstance(out, Mapping):
        raise fail(f"losses returned {type(out).__name__}, not a mapping of group to loss")
    result = {}
    for name in step.wanted:
        if name not in out:
            raise fail(
                f"losses returned no loss for group '{name}' (returned: "
                f"{', '.join(map(str, out)) or 'none'})"
            )
        try:
            result[name] = split_loss_output(out[name], f"losses['{name}']")
        except ValueError as exc:
            raise fail(str(exc)) from None
    return result
