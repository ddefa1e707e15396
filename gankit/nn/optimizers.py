"""``keras.optimizers.Adam`` with each variable's update as one fused kernel.

Keras 3's Adam updates a variable with about twenty small ops (casts, powers, two
``assign_add``, square, sqrt, divide, ``assign_sub``), each a pass over the variable
and a step the executor schedules. TensorFlow's ``ResourceApplyAdam`` does the same
update in one op. In a GAN's alternating update the discriminator's optimizer sits on
the critical path (the generator's update needs the updated discriminator), so those
ops cost time the cores spend mostly idle (``docs/performance.md``).

The update is Keras's formula:
``alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)``, ``m += (g - m)(1 - beta_1)``,
``v += (g^2 - v)(1 - beta_2)``, ``w -= alpha * m / (sqrt(v) + epsilon)``, equal up to
rounding (the kernel forms ``1 - beta`` in the variable's dtype, Keras in Python
floats: 1.3e-5 relative for ``beta_2 = 0.999``). The slot variables, their names and
the checkpoint layout are Keras's, so checkpoints written with either optimizer
restore into the other. ``amsgrad``, sparse (``IndexedSlices``) gradients,
variable dtypes the kernel lacks, and machines where the fused update was not measured
faster (:func:`gankit.nn.precision.fast_paths`) take Keras's own path.

:func:`group_optimizers` builds a run's optimizers, one a scheme's group, from its config, with the
learning-rate decay of ``--lr-decay`` (:class:`LinearDecayTail`, a Keras schedule).
"""

from __future__ import annotations

from typing import Any

from gankit._tf import import_tensorflow
from gankit.nn.precision import fast_paths

__all__ = ["Adam", "LinearDecayTail", "group_optimizers", "learning_rate"]

tf = import_tensorflow()  # first: quietly, before keras imports it
import keras  # noqa: E402

_FUSED_DTYPES = ("float16", "bfloat16", "float32", "float64")


@keras.saving.register_keras_serializable(package="gankit")
class Adam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` whose per-variable update is ``ResourceApplyAdam``.

    With ``use_ema``, the moving average warms up (``ema_warmup``, on by default): at
    update ``t`` its momentum is ``min(ema_momentum, (1 + t) / (10 + t))``, the rule of
    ``tf.train.ExponentialMovingAverage(num_updates=t)``. Keras's own average starts at
    the initial weights with the full momentum, so with 0.999 it still holds 45% of them
    after 800 updates.
    """

    def __init__(self, *args: Any, ema_warmup: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ema_warmup = ema_warmup

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "ema_warmup": self.ema_warmup}

    def _update_model_variables_moving_average(self, trainable_variables: Any) -> None:
        if not (self.use_ema and self.ema_warmup):
            super()._update_model_variables_moving_average(trainable_variables)
            return
        t = tf.cast(self.iterations, tf.float32)
        momentum = tf.minimum(tf.cast(self.ema_momentum, tf.float32), (1.0 + t) / (10.0 + t))
        for variable, average in zip(trainable_variables, self._model_variables_moving_average):
            if average is not None:
                m = tf.cast(momentum, variable.dtype)
                average.assign(m * average + (1.0 - m) * variable)

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        dtype = variable.dtype
        if (
            not fast_paths()
            or self.amsgrad
            or isinstance(gradient, tf.IndexedSlices)
            or tf.as_dtype(dtype).name not in _FUSED_DTYPES
        ):
            super().update_step(gradient, variable, learning_rate)
            return
        index = self._get_variable_index(variable)
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable),
            m=_handle(self._momentums[index]),
            v=_handle(self._velocities[index]),
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )


@keras.saving.register_keras_serializable(package="gankit")
class LinearDecayTail(keras.optimizers.schedules.LearningRateSchedule):
    """``rate`` for the optimizer's first ``start`` updates, then falling linearly to 0
    at update ``end``, and 0 after it."""

    def __init__(self, rate: float, start: int, end: int) -> None:
        if not 0 <= start <= end:
            raise ValueError(f"need 0 <= start <= end, got start={start}, end={end}")
        self.rate, self.start, self.end = float(rate), int(start), int(end)

    def __call__(self, step: Any) -> Any:
        left = (self.end - tf.cast(step, tf.float32)) / max(self.end - self.start, 1)
        return self.rate * tf.clip_by_value(left, 0.0, 1.0)

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate, "start": self.start, "end": self.end}


def learning_rate(rate: float, steps: int, decay: float, updates_per_step: int = 1) -> Any:
    """What an optimizer takes as its learning rate for a run of ``steps`` training
    steps, each ``updates_per_step`` updates of it: ``rate``, or with ``decay`` in
    (0, 1] constant for the first ``1 - decay`` of the run, then falling linearly to 0
    at its end (:class:`LinearDecayTail`)."""
    if decay <= 0:
        return rate
    end = steps * updates_per_step
    return LinearDecayTail(rate, start=round(end * (1 - decay)), end=end)


def group_optimizers(
    config: Any, groups: Any, *, averaged: Any = (), loss_scaling: bool = False
) -> dict[str, Any]:
    """Each optimizer group's optimizer for a resolved run config (``lr_g``, ``lr_d``,
    ``beta1``, ``beta2``, ``steps``, ``lr_decay``, ``d_steps``, ``ema_decay``):
    :class:`Adam` at the learning rate of the group's side (a discriminator-side group's
    schedule counts its ``d_steps`` updates a step), those in ``averaged`` keeping the
    moving average of their weights; each in a ``LossScaleOptimizer`` with
    ``loss_scaling`` (``mixed_float16``). Generator-side groups are made first."""
    c, out = config, {}
    for group in sorted(groups, key=lambda g: g.side != "generator"):
        if group.side == "generator":
            opt = Adam(
                learning_rate(c.lr_g, c.steps, c.lr_decay),
                beta_1=c.beta1,
                beta_2=c.beta2,
                use_ema=group.name in averaged,
                ema_momentum=c.ema_decay or 0.99,
            )
        else:
            opt = Adam(
                learning_rate(c.lr_d, c.steps, c.lr_decay, c.d_steps),
                beta_1=c.beta1,
                beta_2=c.beta2,
            )
        out[group.name] = keras.optimizers.LossScaleOptimizer(opt) if loss_scaling else opt
    return {g.name: out[g.name] for g in groups}


def _handle(variable: Any) -> Any:
    """The resource handle of a Keras or TensorFlow variable; inside a
    ``tf.distribute`` update, the handle of this device's copy."""
    if isinstance(variable, keras.Variable):
        variable = variable.value
    return variable.handle
