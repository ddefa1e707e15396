"""The auxiliary classifier's term (ACGAN, Odena et al. 2017).

A discriminator with a class head returns ``{"logits", "class_logits"}``; the
cross-entropy of its class prediction against the label is added to the
discriminator's loss on the reals and to the generator's on the fakes, whatever the
adversarial loss; logged as ``d_class`` and ``g_class``.

Reference: Odena et al., "Conditional Image Synthesis with Auxiliary Classifier GANs",
ICML 2017.
"""

from __future__ import annotations

from typing import Any

from gankit.conditions import LABEL
from gankit.nn.conditioning import CLASS_LOGITS
from gankit.terms.base import Term, TermInputs

__all__ = ["ClassTerm", "class_cross_entropy"]


def class_cross_entropy(labels: Any, class_logits: Any) -> Any:
    """Mean cross-entropy of ``class_logits`` ``(B, K)`` against int ``labels`` ``(B,)``."""
    from keras import ops

    return ops.mean(
        ops.sparse_categorical_crossentropy(
            ops.cast(labels, "int32"), ops.cast(class_logits, "float32"), from_logits=True
        )
    )


class ClassTerm(Term):
    name = "class"

    @classmethod
    def for_run(cls, context: Any) -> ClassTerm | None:
        return cls() if context.auxiliary else None

    def discriminator(self, t: TermInputs) -> Any:
        return class_cross_entropy(t.ctx.conditions[LABEL], t.outputs("real")[CLASS_LOGITS])

    def generator(self, t: TermInputs) -> Any:
        return class_cross_entropy(t.ctx.conditions[LABEL], t.outputs("fake")[CLASS_LOGITS])
