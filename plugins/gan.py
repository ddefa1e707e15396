"""The ``gan`` scheme: one generator against one discriminator (``--scheme gan``, the default).

Roles: ``generator`` (exported as ``generator.keras``; averaged with ``--ema-decay``) and
``discriminator``; groups ``discriminator`` (``lr_d``, logged as ``d_*``) and
``generator`` (``lr_g``, ``g_*``). The generator makes fakes from noise and the batch's
conditions (with ``--parts`` it draws the parts the discriminator sees beside the
image); the discriminator's loss sees the reals and the fakes, the generator's loss the
fakes; the adversarial loss is the run's loss component (``--loss``), and the terms the
run calls for are added to it (``gankit.terms``): the penalty (``--penalty``),
reconstruction L1 on paired runs (option ``l1_weight``), the auxiliary classifier's class
term, rotation self-supervision (``--rotation``).

Under the ``alternating`` rule the generator's loss sees the *updated* discriminator's
logits, computed only if the loss reads them (``minimax``'s generator loss costs no
discriminator pass over the reals); under ``simultaneous`` both losses see the same
logits. See ``gankit.training.stepper`` for how the step walks the groups.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gankit
from gankit.scheme import Group, Role, SchemeContext, Step
from gankit.terms import (
    ClassTerm,
    PenaltyTerm,
    ReconstructionTerm,
    RotationTerm,
    Term,
    TermInputs,
    loss_terms,
)

CLASS_LOGITS = "class_logits"
GENERATOR, DISCRIMINATOR = "generator", "discriminator"
# The terms a gan run may add to the adversarial loss, in the order they are added.
TERMS: tuple[type[Term], ...] = (PenaltyTerm, ReconstructionTerm, ClassTerm, RotationTerm)


def split_outputs(out: Any) -> tuple[Any, Any]:
    """A discriminator's output as ``(logits, class logits or None)``."""
    if isinstance(out, Mapping):
        return out["logits"], out.get(CLASS_LOGITS)
    return out, None


class LogitsOnly:
    """A discriminator with extra heads as losses and penalties see it: called like the
    model, it returns the adversarial logits alone."""

    def __init__(self, discriminator: Any) -> None:
        self.discriminator = discriminator

    def __call__(self, inputs: Mapping[str, Any], training: Any = None, **kwargs: Any) -> Any:
        return split_outputs(self.discriminator(inputs, training=training, **kwargs))[0]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.discriminator, name)


class GANScheme:
    """One generator, one discriminator, the run's loss and terms (module docstring)."""

    requires = "images"
    roles = (
        Role(GENERATOR, "generators", export=GENERATOR, averaged=True),
        Role(DISCRIMINATOR, "discriminators"),
    )
    groups = (
        Group(DISCRIMINATOR, (DISCRIMINATOR,), side="discriminator", prefix="d"),
        Group(GENERATOR, (GENERATOR,), side="generator", prefix="g"),
    )

    def __init__(self, context: SchemeContext, l1_weight: float = 100.0) -> None:
        if not l1_weight >= 0:
            raise ValueError(f"`l1_weight` must be >= 0, received `{l1_weight}`.")
        self.context, self.l1_weight = context, float(l1_weight)
        self.loss, self.loss_component = context.loss, context.components.get("loss")
        self.conditions: list[str] = list(context.conditions)
        self.parts: list[str] = []
        self.terms: list[Term] = []
        self.heads = False

    def setup(self, nets: Mapping[str, Any]) -> None:
        """Pick the terms the run needs, once the networks are built (whether the
        discriminator has a class head decides the class term)."""
        from gankit.nn.conditioning import output_names

        self.parts = list(self.context.parts)
        outputs = output_names(nets[DISCRIMINATOR])
        self.context.auxiliary = CLASS_LOGITS in outputs
        self.heads = self.context.auxiliary or self.context.rotation > 0
        built = []
        for term in TERMS:
            made = (
                term.for_run(self.context, self.l1_weight)
                if term is ReconstructionTerm
                else term.for_run(self.context)
            )
            if made is not None:
                built.append(made)
        self.terms = built

    # === The losses ===

    def losses(self, step: Step) -> dict[str, Any]:
        from keras import ops

        D = step.nets[DISCRIMINATOR]
        real = step.batch["image"]
        conds = {name: step.batch[name] for name in [*self.conditions, *self.parts]}
        fake, fake_conds = step.shared
        wanted, out = set(step.wanted), {}
        if wanted == {DISCRIMINATOR, GENERATOR}:  # simultaneous: one forward pass serves both
            ctx, outputs = self.discriminator_context(D, real, fake, conds, fake_conds)
            out[DISCRIMINATOR] = self.side(DISCRIMINATOR, ctx, D, outputs, step)
            out[GENERATOR] = self.side(GENERATOR, ctx, D, outputs, step)
        elif DISCRIMINATOR in wanted:
            stopped = {k: ops.stop_gradient(v) for k, v in fake_conds.items()}
            ctx, outputs = self.discriminator_context(
                D, real, ops.stop_gradient(fake), conds, stopped
            )
            out[DISCRIMINATOR] = self.side(DISCRIMINATOR, ctx, D, outputs, step)
        if wanted == {GENERATOR}:  # after the discriminator's update: its logits, if read
            ctx, outputs = self.generator_context(D, real, fake, conds, fake_conds)
            out[GENERATOR] = self.side(GENERATOR, ctx, D, outputs, step)
        return out

    def forward(self, step: Step) -> tuple[Any, dict[str, Any]]:
        """Fakes from this stream's noise, and the conditions the discriminator sees them
        with: the batch's, or with ``--parts`` the drawn parts."""
        z = step.noise(self.context.latent_dim)
        if self.parts:
            drawn = step.views[f"{GENERATOR}/parts"]({"z": z}, training=True)
            return drawn["image"], {name: drawn[name] for name in self.parts}
        conds = {name: step.batch[name] for name in self.conditions}
        return step.nets[GENERATOR]({"z": z, **conds}, training=True), conds

    def _for_losses(self, D: Any) -> Any:
        return LogitsOnly(D) if self.heads else D

    def discriminator_context(
        self, D: Any, real: Any, fake: Any, conds: dict[str, Any], fake_conds: dict[str, Any]
    ) -> tuple[gankit.LossContext, Any]:
        real_out = D({"image": real, **conds}, training=True)
        fake_out = D({"image": fake, **fake_conds}, training=True)
        ctx = gankit.LossContext(
            real,
            fake,
            split_outputs(real_out)[0],
            split_outputs(fake_out)[0],
            conds,
            self._for_losses(D),
            self.context.paired,
            fake_conditions=fake_conds,
        )
        return ctx, {"real": real_out, "fake": fake_out}.__getitem__

    def generator_context(
        self, D: Any, real: Any, fake: Any, conds: dict[str, Any], fake_conds: dict[str, Any]
    ) -> tuple[gankit.LossContext, Any]:
        from keras import ops

        fake_out: list[Any] = []

        def fake_outputs(which: str = "fake") -> Any:
            if not fake_out:
                fake_out.append(D({"image": fake, **fake_conds}, training=True))
            return fake_out[0]

        ctx = gankit.LossContext.lazy(
            real,
            fake,
            lambda: ops.stop_gradient(split_outputs(D({"image": real, **conds}, training=True))[0]),
            lambda: split_outputs(fake_outputs())[0],
            conditions=conds,
            discriminator=self._for_losses(D),
            paired=self.context.paired,
            fake_conditions=fake_conds,
        )
        return ctx, fake_outputs

    def side(
        self, side: str, ctx: gankit.LossContext, D: Any, outputs: Any, step: Step
    ) -> dict[str, Any]:
        """The adversarial loss's ``side``, plus every term's value on that side."""
        method = f"{side}_loss"
        scalars = loss_terms(self.loss_component, method, getattr(self.loss, method), ctx)
        inputs = TermInputs(ctx, D, outputs, step.step)
        for term in self.terms:
            value = getattr(term, side)(inputs)
            if value is None:
                continue
            weight = term.weight_for(side)
            scalars["loss"] = scalars["loss"] + (value if weight == 1.0 else weight * value)
            scalars[term.name] = value
            scalars.update(getattr(term, "extras", {}))
        return scalars

    def no_gradient(self, group: str) -> Exception:
        """A loss that reaches none of a network's weights: name the loss."""
        c = self.loss_component
        uses = "ctx.fake_logits" if group == GENERATOR else "the logits"
        return gankit.ComponentError(
            "loss",
            c.name,
            c.plugin,
            f"{group}_loss carries no gradient to the {group}'s weights (does it use {uses}?)",
        )


def build_gan_scheme(context: SchemeContext, *, l1_weight: float = 100.0) -> GANScheme:
    """One generator against one discriminator: today's GAN training (the default).

    Args:
        l1_weight: weight of pix2pix's L1 term on the generator's loss, on paired
            conditional runs only (mnist-cifar given content and style); 0 disables it.
    """
    return GANScheme(context, l1_weight)


@gankit.hookimpl
def register_schemes(register):
    register(
        "gan",
        build_gan_scheme,
        summary="One generator against one discriminator (today's GAN step)",
    )
