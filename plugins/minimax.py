"""The minimax GAN loss (Goodfellow et al. 2014), from logits.

With ``D(x) = sigmoid(l(x))`` and one-sided label smoothing ``s``:

- discriminator: ``-(1 - s) log D(x) - s log(1 - D(x)) - log(1 - D(G(z)))``
  = ``softplus(l_real) - (1 - s) l_real + softplus(l_fake)``
- generator, non-saturating (the form used in practice, as written in the paper's
  text): ``-log D(G(z))`` = ``softplus(-l_fake)``
- generator, saturating (the literal minimax game): ``log(1 - D(G(z)))``
  = ``-softplus(l_fake)``

The softplus forms never take the log of a sigmoid, so they stay finite for any
finite logit. Each function returns the mean over the batch.

pix2pix's L1 term on paired runs belongs to the ``gan`` scheme, not to a loss
(``gankit.terms.ReconstructionTerm``).

Reference: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014;
Salimans et al. 2016 for one-sided label smoothing.
"""

from __future__ import annotations

from typing import Any, Literal

import gankit

Variant = Literal["non-saturating", "saturating"]


def minimax_discriminator_loss(
    real_logits: Any, fake_logits: Any, label_smoothing: float = 0.0
) -> Any:
    """``mean(BCE(1 - s, real_logits)) + mean(BCE(0, fake_logits))`` from logits.

    Args:
        real_logits: discriminator logits on real images, any shape.
        fake_logits: discriminator logits on generated images, any shape.
        label_smoothing: one-sided smoothing ``s``: real targets are ``1 - s``.
    """
    from keras import ops

    real_logits = ops.cast(real_logits, "float32")
    fake_logits = ops.cast(fake_logits, "float32")
    real_term = ops.softplus(real_logits) - (1.0 - label_smoothing) * real_logits
    fake_term = ops.softplus(fake_logits)
    return ops.mean(real_term) + ops.mean(fake_term)


def minimax_generator_loss(fake_logits: Any, variant: Variant = "non-saturating") -> Any:
    """Non-saturating ``mean(-log D(G(z)))`` or saturating ``mean(log(1 - D(G(z))))``.

    Args:
        fake_logits: discriminator logits on generated images.
        variant: ``"non-saturating"`` (default) or ``"saturating"``.
    """
    from keras import ops

    fake_logits = ops.cast(fake_logits, "float32")
    if variant == "non-saturating":
        return ops.mean(ops.softplus(-fake_logits))
    if variant == "saturating":
        return -ops.mean(ops.softplus(fake_logits))
    raise ValueError(f"`variant` must be 'non-saturating' or 'saturating', received `{variant}`.")


class MinimaxLoss:
    """The minimax loss as a gankit loss object (see the module docstring)."""

    def __init__(self, variant: Variant = "non-saturating", label_smoothing: float = 0.0) -> None:
        if variant not in ("non-saturating", "saturating"):
            raise ValueError(
                f"`variant` must be 'non-saturating' or 'saturating', received `{variant}`."
            )
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"`label_smoothing` must be in [0, 1), received `{label_smoothing}`.")
        self.variant = variant
        self.label_smoothing = label_smoothing

    def discriminator_loss(self, ctx: gankit.LossContext) -> Any:
        return minimax_discriminator_loss(ctx.real_logits, ctx.fake_logits, self.label_smoothing)

    def generator_loss(self, ctx: gankit.LossContext) -> Any:
        return minimax_generator_loss(ctx.fake_logits, self.variant)


def build_minimax_loss(
    *, variant: Variant = "non-saturating", label_smoothing: float = 0.0
) -> MinimaxLoss:
    """Minimax GAN loss (Goodfellow et al. 2014), non-saturating by default.

    Args:
        variant: ``"non-saturating"`` or ``"saturating"`` generator loss.
        label_smoothing: one-sided label smoothing of the real targets.
    """
    return MinimaxLoss(variant, label_smoothing)


@gankit.hookimpl
def register_losses(register):
    register("minimax", build_minimax_loss, summary="Minimax GAN loss (Goodfellow et al. 2014)")
