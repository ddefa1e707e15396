"""The update rules: what one training step does to the discriminator and the generator.

A step takes ``d_steps`` global batches (each replica its slice of each) and runs
``d_steps`` discriminator updates and one generator update:

- discriminator update ``k`` (``k = 0 .. d_steps - 1``) sees real batch ``k`` and
  fakes ``G(z_k)`` made from noise stream ``k`` and batch ``k``'s conditions; its loss
  sees D's logits on both *before* that update;
- ``alternating`` (the default; the DCGAN reference loop): after the last
  discriminator update, the generator updates on the *same* fakes (its forward pass is
  recorded once and serves both updates), and its loss sees the logits of the
  *updated* discriminator on those fakes and on real batch ``d_steps - 1``. A logit is
  computed only if the loss reads it: ``minimax``'s generator loss costs no D pass over
  the reals, a relativistic loss gets them from the current D;
- ``simultaneous`` (TensorFlow's DCGAN tutorial): the last discriminator update and the
  generator update share one forward pass and step from the same position; both losses
  see the same logits.

An auxiliary-classifier discriminator (ACGAN, Odena et al. 2017: its model returns
``{"logits", "class_logits"}``) gives the losses and penalties its ``logits`` alone; the
cross-entropy of its class prediction against the label is added to the discriminator's
loss on the reals and to the generator's on the fakes, logged as ``d_class`` and
``g_class``, whatever the adversarial loss. Rotation self-supervision (``--rotation``,
SS-GAN; the discriminator returns ``rotation_logits`` too) adds the cross-entropy of
D's guess of the quarter turn given to a quarter of the batch each
(``gankit.nn.rotation``): on the reals to D's loss, on the fakes to G's, in a D pass of
its own, logged as ``d_rotation`` and ``g_rotation``.

Losses return the mean over the replica's examples (see ``docs/losses.md``); here it is
divided by the replica count, so the gradients the optimizer sums over replicas are
those of the global-batch mean, and scaled under ``mixed_float16``. Noise comes from
stateless RNG keyed by (seed, step, stream) for the whole global batch, each replica
taking its slice: distinct for every step and stream, and the same on N replicas as on
one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gankit.errors import ComponentError
from gankit.nn.conditioning import CLASS_LOGITS, output_names
from gankit.nn.rotation import GENERATOR_SHARE, ROTATION_LOGITS, rotate_quarters
from gankit.plugin.registry import SINGULAR, Component
from gankit.run.config import UPDATES
from gankit.train.augment import AugmentedDiscriminator
from gankit.types import LABEL, LossContext

__all__ = ["UpdateStep", "loss_terms", "split_loss_output"]

Scalars = dict[str, Any]


def split_loss_output(out: Any, method: str) -> Scalars:
    """A loss method's result as ``{"loss": value, <extra scalars>}``, all float32 scalars.

    A method returns the loss (a scalar) or a mapping with ``"loss"`` and extra named
    scalars to log; anything else raises ``ValueError`` saying what is wrong.
    """
    import tensorflow as tf

    if out is None:
        raise ValueError(f"{method} returned None; return the loss, a scalar (the mean over the batch)")
    terms = dict(out) if isinstance(out, Mapping) else {"loss": out}
    if "loss" not in terms:
        raise ValueError(f"{method} returned a mapping without `loss` (keys: {', '.join(map(str, terms))})")
    result = {}
    for name, value in terms.items():
        value = tf.cast(value, tf.float32)
        if value.shape.rank != 0:
            what = "a value" if name == "loss" else f"`{name}`"
            raise ValueError(
                f"{method} returned {what} of shape {tuple(value.shape)}, not a scalar (the mean over the batch)"
            )
        result[str(name)] = value
    return result


def loss_terms(component: Component, method: str, compute: Callable[[LossContext], Any], ctx: LossContext) -> Scalars:
    """Call a loss (or penalty) method under its component's guard; :func:`split_loss_output`
    of the result, a contract violation being a ``ComponentError`` naming the component."""
    with component.calling(method):
        out = compute(ctx)
    try:
        return split_loss_output(out, method)
    except ValueError as exc:
        raise ComponentError(SINGULAR[component.family], component.name, component.plugin, str(exc)) from None


class UpdateStep:
    """The per-replica step function of one update rule (call it inside ``strategy.run``).

    Args:
        models: the run's ``Models`` (generator, discriminator, loss, components).
        g_opt, d_opt: the optimizers (``LossScaleOptimizer`` under mixed_float16).
        conditions: the names of the condition inputs, taken from the batch.
        parts: with ``--parts``, the names of the parts the generator draws and the
            discriminator sees beside the image: the batch's for the reals, the drawn
            ones for the fakes (``models.drawing``; gankit.nn.parts). Empty otherwise.
        latent_dim, seed: the noise's size and seed.
        d_steps: discriminator updates per step (and batches per step).
        update: ``"alternating"`` or ``"simultaneous"``.
        paired: ``LossContext.paired`` for this run.
        replicas: the strategy's number of replicas in sync.
        loss_scaling: whether the optimizers scale losses (mixed_float16).
        step_var: the global step variable (read for the noise key).
        augment: DiffAugment transforms in front of every discriminator call.
        rotation: the weight of the rotation self-supervision (``--rotation``;
            gankit.nn.rotation) on D's loss (on the reals), ``GENERATOR_SHARE`` of it on
            G's (on the fakes); 0: none. The discriminator then returns
            ``rotation_logits`` too.
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
        augment: Sequence[str] = (),
        parts: Sequence[str] = (),
        rotation: float = 0.0,
    ) -> None:
        if update not in UPDATES:
            raise ValueError(f"`update` must be one of {', '.join(UPDATES)}, received `{update}`.")
        self.G, self.D, self.loss = models.generator, models.discriminator, models.loss
        # Forward passes (and the losses' ctx.discriminator) go through the augmentation;
        # gradients are taken for the model's own variables.
        self.D_raw = AugmentedDiscriminator(self.D, augment) if augment else self.D
        self.auxiliary = CLASS_LOGITS in output_names(self.D)
        self.rotation = float(rotation)
        self.D_call = LogitsOnly(self.D_raw) if self.auxiliary or self.rotation else self.D_raw
        self.loss_component: Component = models.components["loss"]
        self.penalty, self.penalty_component = models.penalty, models.components.get("penalty")
        self.g_opt, self.d_opt = g_opt, d_opt
        self.conditions, self.latent_dim, self.seed = list(conditions), latent_dim, seed
        self.parts, self.drawing = list(parts), getattr(models, "drawing", None)
        if self.parts and self.drawing is None:
            raise ValueError("a run that draws parts needs the generator's parts model (models.drawing)")
        self.d_steps, self.update, self.paired = d_steps, update, paired
        self.replicas, self.loss_scaling, self.step_var = replicas, loss_scaling, step_var

    def __call__(self, batch: dict[str, Any]) -> Scalars:
        """One step on this replica's slices of the step's batches; returns the scalars
        to log: ``d_loss`` (mean over the D updates), ``g_loss`` and each loss's extras
        (``d_<name>``, ``g_<name>``)."""
        import tensorflow as tf

        parts = {key: tf.split(value, self.d_steps) for key, value in batch.items()}
        batches = [{key: parts[key][k] for key in parts} for k in range(self.d_steps)]
        step = self.step_var.read_value()
        d_terms = [self.d_update(batches[k], step, k) for k in range(self.d_steps - 1)]
        if self.update == "simultaneous":
            d_last, g_terms = self.simultaneous(batches[-1], step, self.d_steps - 1)
        else:
            d_last, g_terms = self.alternating(batches[-1], step, self.d_steps - 1)
        d_terms.append(d_last)
        scalars = {f"d_{k}": tf.add_n([t[k] for t in d_terms]) / len(d_terms) for k in d_last}
        scalars.update({f"g_{k}": v for k, v in g_terms.items()})
        return scalars

    # === Pieces ===

    def scale(self, opt: Any, value: Any) -> Any:
        value = value / float(self.replicas)  # the optimizer sums gradients over replicas
        return opt.scale_loss(value) if self.loss_scaling else value

    def noise(self, batch: Any, step: Any, stream: int) -> Any:
        """This replica's slice of the global batch's noise for (seed, step, stream)."""
        import tensorflow as tf

        replica = tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group, tf.int32)
        key = tf.constant([self.seed, 0x6A6B], tf.int64)
        key = tf.random.experimental.stateless_fold_in(key, step)
        key = tf.random.experimental.stateless_fold_in(key, tf.constant(stream, tf.int64))
        z = tf.random.stateless_normal((batch * self.replicas, self.latent_dim), seed=key)
        return z[replica * batch : (replica + 1) * batch]

    def generate(self, batch: dict[str, Any], step: Any, stream: int) -> tuple[Any, dict[str, Any]]:
        """Fakes for ``batch`` from noise ``stream`` and the conditions the discriminator
        sees them with: the batch's, or with ``--parts`` the drawn parts."""
        import tensorflow as tf

        size = tf.shape(batch["image"])[0]
        z = self.noise(size, step, stream)
        if self.parts:
            drawn = self.drawing({"z": z}, training=True)
            return drawn["image"], {name: drawn[name] for name in self.parts}
        conds = self.conditions_of(batch)
        return self.G({"z": z, **conds}, training=True), conds

    def conditions_of(self, batch: dict[str, Any]) -> dict[str, Any]:
        """What the discriminator sees beside a real image: the run's conditions (and,
        with ``--parts``, the real parts)."""
        return {name: batch[name] for name in [*self.conditions, *self.parts]}

    def discriminator_context(
        self, real: Any, fake: Any, conds: dict[str, Any], fake_conds: dict[str, Any] | None = None
    ) -> LossContext:
        """The loss's context; an auxiliary classifier's class logits on the reals and the
        fakes ride along as ``ctx.class_logits`` (not part of the loss contract)."""
        fake_conds = conds if fake_conds is None else fake_conds
        real_logits, real_classes = split_outputs(self.D_raw({"image": real, **conds}, training=True))
        fake_logits, fake_classes = split_outputs(self.D_raw({"image": fake, **fake_conds}, training=True))
        ctx = LossContext(real, fake, real_logits, fake_logits, conds, self.D_call, self.paired,
                          fake_conditions=fake_conds)
        ctx.class_logits = {"real": real_classes, "fake": fake_classes}
        return ctx

    def class_term(self, class_logits: Any, conds: dict[str, Any]) -> Any:
        """Mean cross-entropy of an auxiliary classifier's logits against the label."""
        import tensorflow as tf

        labels = tf.cast(conds[LABEL], tf.int32)
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, tf.cast(class_logits, tf.float32)))

    def with_class_term(self, terms: Scalars, class_logits: Any, conds: dict[str, Any]) -> Scalars:
        if not self.auxiliary:
            return terms
        value = self.class_term(class_logits, conds)
        return {**terms, "loss": terms["loss"] + value, "class": value}

    def with_rotation_term(self, terms: Scalars, image: Any, conds: dict[str, Any], weight: float) -> Scalars:
        """``terms`` plus the cross-entropy of D's guess of the quarter turn each image of
        ``image`` (with its conditions) was given, times ``weight``; logged as ``rotation``."""
        if not self.rotation:
            return terms
        import tensorflow as tf

        turned, turned_conds, turns = rotate_quarters(image, conds)
        logits = self.D_raw({"image": turned, **turned_conds}, training=True)[ROTATION_LOGITS]
        value = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(turns, tf.cast(logits, tf.float32)))
        return {**terms, "loss": terms["loss"] + weight * value, "rotation": value}

    def gradients(self, tape: Any, scaled: Any, model: Any, method: str, network: str, adversarial: Any = None) -> list[Any]:
        """The gradients of ``scaled`` for ``model``'s weights; a loss that reaches none
        of them is a one-line error naming the loss. With ``--rotation`` the total always
        reaches them, so the loss's own term (``adversarial``; the tape persistent) is
        probed: in the traced step the probe's gradient is unused and pruned."""
        probe = tape.gradient(adversarial, model.trainable_variables) if adversarial is not None else None
        grads = tape.gradient(scaled, model.trainable_variables)
        if all(g is None for g in (grads if probe is None else probe)):
            c = self.loss_component
            raise ComponentError(
                "loss", c.name, c.plugin,
                f"{method} carries no gradient to the {network}'s weights (does it use "
                f"{'ctx.fake_logits' if network == 'generator' else 'the logits'}?)",
            )
        return grads

    def d_update(
        self, batch: dict[str, Any], step: Any, stream: int, fake: Any = None, fake_conds: dict[str, Any] | None = None
    ) -> Scalars:
        """One discriminator update on ``batch``'s reals and fakes from noise ``stream``
        (or the given ``fake`` seen with ``fake_conds``)."""
        import tensorflow as tf

        if fake is None:
            fake, fake_conds = self.generate(batch, step, stream)
        with tf.GradientTape(persistent=bool(self.rotation)) as tape:
            conds = self.conditions_of(batch)
            ctx = self.discriminator_context(batch["image"], fake, conds, fake_conds)
            terms = self.with_class_term(self.discriminator_terms(ctx, step), ctx.class_logits["real"], conds)
            adversarial = terms["loss"] if self.rotation else None
            terms = self.with_rotation_term(terms, batch["image"], conds, self.rotation)
            scaled = self.scale(self.d_opt, terms["loss"])
        grads = self.gradients(tape, scaled, self.D, "discriminator_loss", "discriminator", adversarial)
        self.d_opt.apply(grads, self.D.trainable_variables)
        return terms

    def discriminator_terms(self, ctx: LossContext, step: Any) -> Scalars:
        """The loss's discriminator terms, plus the penalty (``--penalty``) when there is
        one: added to ``loss`` and logged under its name."""
        terms = loss_terms(self.loss_component, "discriminator_loss", self.loss.discriminator_loss, ctx)
        if self.penalty is None:
            return terms
        key = self.penalty_component.name.replace("-", "_")
        every = int(getattr(self.penalty, "every", 1) or 1)
        if every <= 1:
            penalty = loss_terms(self.penalty_component, "penalty", self.penalty.penalty, ctx)
            terms.update({f"{key}_{k}": v for k, v in penalty.items() if k != "loss"})
            value = penalty["loss"]
        else:  # lazy (StyleGAN2): every `every` steps, weighted by `every`; extras not logged
            import tensorflow as tf

            value = tf.cond(
                step % every == 0,
                lambda: every * loss_terms(self.penalty_component, "penalty", self.penalty.penalty, ctx)["loss"],
                lambda: tf.constant(0.0),
            )
        terms["loss"] = terms["loss"] + value
        terms[key] = value
        return terms

    # === The rules' last updates ===

    def alternating(self, batch: dict[str, Any], step: Any, stream: int) -> tuple[Scalars, Scalars]:
        import tensorflow as tf

        G, D = self.G, self.D_raw
        real, conds = batch["image"], self.conditions_of(batch)
        fake_classes: list[Any] = []  # the auxiliary classifier's, from the fake pass

        def fake_logits() -> Any:
            logits, classes = split_outputs(D({"image": fake, **fake_conds}, training=True))
            fake_classes.append(classes)
            return logits

        with tf.GradientTape(persistent=bool(self.rotation)) as tape:
            fake, fake_conds = self.generate(batch, step, stream)
            with tape.stop_recording():
                d_terms = self.d_update(
                    batch, step, stream, fake=tf.stop_gradient(fake),
                    fake_conds={k: tf.stop_gradient(v) for k, v in fake_conds.items()},
                )
            ctx = LossContext.lazy(
                real, fake,
                lambda: tf.stop_gradient(split_outputs(D({"image": real, **conds}, training=True))[0]),
                fake_logits,
                conditions=conds, discriminator=self.D_call, paired=self.paired, fake_conditions=fake_conds,
            )
            g_terms = loss_terms(self.loss_component, "generator_loss", self.loss.generator_loss, ctx)
            if self.auxiliary:
                classes = fake_classes[0] if fake_classes else split_outputs(D({"image": fake, **fake_conds}, training=True))[1]
                g_terms = self.with_class_term(g_terms, classes, conds)
            adversarial = g_terms["loss"] if self.rotation else None
            g_terms = self.with_rotation_term(g_terms, fake, fake_conds, self.rotation * GENERATOR_SHARE)
            scaled = self.scale(self.g_opt, g_terms["loss"])
        grads = self.gradients(tape, scaled, G, "generator_loss", "generator", adversarial)
        self.g_opt.apply(grads, G.trainable_variables)
        return d_terms, g_terms

    def simultaneous(self, batch: dict[str, Any], step: Any, stream: int) -> tuple[Scalars, Scalars]:
        import tensorflow as tf

        G, D = self.G, self.D
        persistent = bool(self.rotation)
        with tf.GradientTape(persistent=persistent) as g_tape, tf.GradientTape(persistent=persistent) as d_tape:
            fake, fake_conds = self.generate(batch, step, stream)
            conds = self.conditions_of(batch)
            ctx = self.discriminator_context(batch["image"], fake, conds, fake_conds)
            d_terms = self.with_class_term(self.discriminator_terms(ctx, step), ctx.class_logits["real"], conds)
            g_terms = loss_terms(self.loss_component, "generator_loss", self.loss.generator_loss, ctx)
            g_terms = self.with_class_term(g_terms, ctx.class_logits["fake"], conds)
            d_adversarial, g_adversarial = (d_terms["loss"], g_terms["loss"]) if persistent else (None, None)
            d_terms = self.with_rotation_term(d_terms, batch["image"], conds, self.rotation)
            g_terms = self.with_rotation_term(g_terms, fake, fake_conds, self.rotation * GENERATOR_SHARE)
            d_scaled, g_scaled = self.scale(self.d_opt, d_terms["loss"]), self.scale(self.g_opt, g_terms["loss"])
        d_grads = self.gradients(d_tape, d_scaled, D, "discriminator_loss", "discriminator", d_adversarial)
        g_grads = self.gradients(g_tape, g_scaled, G, "generator_loss", "generator", g_adversarial)
        self.d_opt.apply(d_grads, D.trainable_variables)
        self.g_opt.apply(g_grads, G.trainable_variables)
        return d_terms, g_terms


def split_outputs(out: Any) -> tuple[Any, Any]:
    """A discriminator's output as ``(logits, class logits or None)``."""
    if isinstance(out, Mapping):
        return out["logits"], out.get(CLASS_LOGITS)
    return out, None


class LogitsOnly:
    """An auxiliary-classifier discriminator as losses and penalties see it: called like
    the model, it returns the adversarial logits alone."""

    def __init__(self, discriminator: Any) -> None:
        self.discriminator = discriminator

    def __call__(self, inputs: Mapping[str, Any], training: Any = None, **kwargs: Any) -> Any:
        return split_outputs(self.discriminator(inputs, training=training, **kwargs))[0]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.discriminator, name)
