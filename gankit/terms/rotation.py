"""Rotation self-supervision (``--rotation``; SS-GAN, Chen et al. 2019) as a term.

The discriminator also guesses which quarter turn its input was given
(:mod:`gankit.nn.rotation`): the cross-entropy of that guess, in a discriminator pass
of its own, is added with weight ``w`` on the reals to the discriminator's loss and
with ``w * GENERATOR_SHARE`` on the fakes to the generator's; logged as ``d_rotation``
and ``g_rotation`` (unweighted).

Reference: Chen et al., "Self-Supervised GANs via Auxiliary Rotation Loss", CVPR 2019.
"""

from __future__ import annotations

from typing import Any

from gankit.nn.rotation import GENERATOR_SHARE, ROTATION_LOGITS, rotate_quarters
from gankit.terms.base import Term, TermInputs
from gankit.terms.classes import class_cross_entropy

__all__ = ["RotationTerm"]


class RotationTerm(Term):
    name = "rotation"

    def __init__(self, weight: float) -> None:
        self.weight = float(weight)

    @classmethod
    def for_run(cls, context: Any) -> RotationTerm | None:
        return cls(context.rotation) if context.rotation > 0 else None

    def _guess(self, t: TermInputs, image: Any, conditions: Any) -> Any:
        turned, turned_conds, turns = rotate_quarters(image, conditions)
        logits = t.discriminator({"image": turned, **turned_conds}, training=True)[ROTATION_LOGITS]
        return class_cross_entropy(turns, logits)

    def discriminator(self, t: TermInputs) -> Any:
        return self._guess(t, t.ctx.real_images, t.ctx.conditions)

    def generator(self, t: TermInputs) -> Any:
        return self._guess(t, t.ctx.fake_images, t.ctx.fake_conditions)

    def weight_for(self, side: str) -> float:
        return self.weight if side == "discriminator" else self.weight * GENERATOR_SHARE
