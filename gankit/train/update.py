"""The update rules: what one training step does to the discriminator and the generator.

A step takes one global batch (each replica its slice) and runs ``d_steps``
discriminator updates and one generator update. Every loss value is the mean over the
replica's examples divided by the replica count, so the gradients the optimizer sums
over replicas are those of the global-batch mean. Noise comes from stateless RNG keyed
by (seed, step, stream) for the whole global batch, each replica taking its slice, so
a run on N replicas sees the same noise as on one.

``alternating`` (the DCGAN reference loop):

1. ``d_steps - 1`` extra discriminator updates, each on the step's real batch and on
   fakes from noise stream ``k``;
2. fakes ``G(z)`` from stream 7; a discriminator update on the real batch and those
   fakes (its loss sees D's logits on both before the update);
3. a generator update whose loss sees D's logits on the same fakes after that update,
   and the real logits of step 2. G's forward pass is recorded once and serves steps 2
   and 3: the D update does not change G.

``simultaneous`` (TensorFlow's DCGAN tutorial): after the extra updates of 1, one
forward pass and two tapes: both losses see the same logits, and both players step
from the same position.
"""

from __future__ import annotations

from typing import Any

from gankit.run.config import UPDATES
from gankit.types import LossContext

__all__ = ["UpdateStep"]


class UpdateStep:
    """The per-replica step function of one update rule (call it inside ``strategy.run``).

    Args:
        models: the run's ``Models`` (generator, discriminator, loss).
        g_opt, d_opt: the optimizers (``LossScaleOptimizer`` under mixed_float16).
        conditions: the names of the condition inputs, taken from the batch.
        latent_dim, seed: the noise's size and seed.
        d_steps: discriminator updates per step.
        update: ``"alternating"`` or ``"simultaneous"``.
        paired: ``LossContext.paired`` for this run.
        replicas: the strategy's number of replicas in sync.
        loss_scaling: whether the optimizers scale losses (mixed_float16).
        step_var: the global step variable (read for the noise key).
    """

    def __init__(
        self,
        models: Any,
        g_opt: Any,
        d_opt: Any,
        *,
        conditions: list[str],
        latent_dim: int,
        seed: int,
        d_steps: int,
        update: str,
        paired: bool,
        replicas: int,
        loss_scaling: bool,
        step_var: Any,
    ) -> None:
        if update not in UPDATES:
            raise ValueError(f"`update` must be one of {', '.join(UPDATES)}, received `{update}`.")
        self.G, self.D, self.loss = models.generator, models.discriminator, models.loss
        self.g_opt, self.d_opt = g_opt, d_opt
        self.conditions, self.latent_dim, self.seed = list(conditions), latent_dim, seed
        self.d_steps, self.update, self.paired = d_steps, update, paired
        self.replicas, self.loss_scaling, self.step_var = replicas, loss_scaling, step_var

    def __call__(self, batch: dict[str, Any]) -> tuple[Any, Any]:
        """One step on this replica's slice of ``batch``; returns (d_loss, g_loss)."""
        if self.update == "simultaneous":
            return self.simultaneous(batch)
        return self.alternating(batch)

    # === Pieces ===

    def scale(self, opt: Any, value: Any) -> Any:
        value = value / float(self.replicas)  # the optimizer sums gradients over replicas
        return opt.scale_loss(value) if self.loss_scaling else value

    def noise(self, batch: Any, step: Any, stream: int) -> Any:
        """This replica's slice of the global batch's noise for (seed, step, stream)."""
        import tensorflow as tf

        replica = tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group, tf.int32)
        key = tf.stack([tf.cast(self.seed, tf.int64) * 7919, step * 8 + stream])
        z = tf.random.stateless_normal((batch * self.replicas, self.latent_dim), seed=key)
        return z[replica * batch : (replica + 1) * batch]

    def generate(self, conds: dict[str, Any], size: Any, step: Any, stream: int) -> Any:
        return self.G({"z": self.noise(size, step, stream), **conds}, training=True)

    def d_update(self, real: Any, conds: dict[str, Any], fake: Any) -> tuple[Any, Any]:
        """One discriminator update on ``real`` and ``fake``; its loss and real logits."""
        import tensorflow as tf

        D = self.D
        with tf.GradientTape() as tape:
            real_logits = D({"image": real, **conds}, training=True)
            fake_logits = D({"image": fake, **conds}, training=True)
            ctx = LossContext(real, fake, real_logits, fake_logits, conds, D, self.paired)
            d_loss = tf.cast(self.loss.discriminator_loss(ctx), tf.float32)
            scaled = self.scale(self.d_opt, d_loss)
        self.d_opt.apply(tape.gradient(scaled, D.trainable_variables), D.trainable_variables)
        return d_loss, real_logits

    def begin_step(self, batch: dict[str, Any]) -> tuple[Any, dict[str, Any], Any, Any]:
        """The batch's images and conditions, its size and the step; runs the extra D
        updates (d_steps > 1), each on fakes of its own noise."""
        import tensorflow as tf

        real = batch["image"]
        conds = {name: batch[name] for name in self.conditions}
        size = tf.shape(real)[0]
        step = self.step_var.read_value()
        for k in range(self.d_steps - 1):
            self.d_update(real, conds, self.generate(conds, size, step, k))
        return real, conds, size, step

    # === The rules ===

    def alternating(self, batch: dict[str, Any]) -> tuple[Any, Any]:
        import tensorflow as tf

        real, conds, size, step = self.begin_step(batch)
        G, D = self.G, self.D
        with tf.GradientTape() as tape:
            fake = self.generate(conds, size, step, 7)
            with tape.stop_recording():
                d_loss, real_logits = self.d_update(real, conds, tf.stop_gradient(fake))
            fake_logits = D({"image": fake, **conds}, training=True)
            ctx = LossContext(real, fake, tf.stop_gradient(real_logits), fake_logits, conds, D, self.paired)
            g_loss = tf.cast(self.loss.generator_loss(ctx), tf.float32)
            scaled = self.scale(self.g_opt, g_loss)
        self.g_opt.apply(tape.gradient(scaled, G.trainable_variables), G.trainable_variables)
        return d_loss, g_loss

    def simultaneous(self, batch: dict[str, Any]) -> tuple[Any, Any]:
        import tensorflow as tf

        real, conds, size, step = self.begin_step(batch)
        G, D = self.G, self.D
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generate(conds, size, step, 7)
            real_logits = D({"image": real, **conds}, training=True)
            fake_logits = D({"image": fake, **conds}, training=True)
            ctx = LossContext(real, fake, real_logits, fake_logits, conds, D, self.paired)
            d_loss = tf.cast(self.loss.discriminator_loss(ctx), tf.float32)
            g_loss = tf.cast(self.loss.generator_loss(ctx), tf.float32)
            d_scaled, g_scaled = self.scale(self.d_opt, d_loss), self.scale(self.g_opt, g_loss)
        d_grads = d_tape.gradient(d_scaled, D.trainable_variables)
        g_grads = g_tape.gradient(g_scaled, G.trainable_variables)
        self.d_opt.apply(d_grads, D.trainable_variables)
        self.g_opt.apply(g_grads, G.trainable_variables)
        return d_loss, g_loss
