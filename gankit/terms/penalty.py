"""A discriminator penalty (``--penalty``: R1, a gradient penalty) as a term.

The penalty component's ``penalty(ctx)`` is added to the discriminator's loss and
logged under its name. A lazy penalty (``every > 1``, StyleGAN2) is added on every
``every``-th step only, times ``every``; its extra scalars are then not logged.
"""

from __future__ import annotations

from typing import Any

from gankit.terms.base import Term, TermInputs, loss_terms

__all__ = ["PenaltyTerm"]


class PenaltyTerm(Term):
    def __init__(self, penalty: Any, component: Any) -> None:
        self.penalty, self.component = penalty, component
        self.name = component.name.replace("-", "_")
        self.every = int(getattr(penalty, "every", 1) or 1)
        self.extras: dict[str, Any] = {}

    @classmethod
    def for_run(cls, context: Any) -> PenaltyTerm | None:
        if context.penalty is None:
            return None
        return cls(context.penalty, context.components["penalty"])

    def discriminator(self, t: TermInputs) -> Any:
        from keras import ops

        if self.every <= 1:
            out = loss_terms(self.component, "penalty", self.penalty.penalty, t.ctx)
            self.extras = {f"{self.name}_{k}": v for k, v in out.items() if k != "loss"}
            return out["loss"]
        self.extras = {}
        return ops.cond(
            t.step % self.every == 0,
            lambda: (
                self.every
                * loss_terms(self.component, "penalty", self.penalty.penalty, t.ctx)["loss"]
            ),
            lambda: ops.convert_to_tensor(0.0),
        )
