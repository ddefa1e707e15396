"""The term contract, and how a loss component's result becomes named scalars."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gankit.errors import ComponentError
from gankit.types import LossContext

__all__ = [
    "Term",
    "TermInputs",
    "Scalars",
    "split_loss_output",
    "loss_terms",
    "adversarial_loss",
    "judged_loss",
]

Scalars = dict[str, Any]


@dataclass
class TermInputs:
    """What a term sees for one update.

    Attributes:
        ctx: the adversarial loss's :class:`gankit.LossContext` (images, logits,
            conditions, the discriminator as losses see it, ``paired``).
        discriminator: the discriminator as the scheme calls it (through DiffAugment),
            returning its every output (``logits``, ``class_logits``, ``rotation_logits``).
        outputs: ``outputs(which)`` the discriminator's full outputs on ``"real"`` or
            ``"fake"`` from the pass the loss's logits came from (computed if the loss
            read none).
        step: the global step, an int64 scalar tensor.
    """

    ctx: LossContext
    discriminator: Any
    outputs: Callable[[str], Any]
    step: Any


class Term:
    """A piece of a scheme's loss; see :mod:`gankit.terms`. Subclasses override either
    method and ``for_run``."""

    name = "term"

    @classmethod
    def for_run(cls, context: Any) -> Term | None:
        """The term a run described by ``context`` (a :class:`gankit.SchemeContext`)
        trains with, or None."""
        return None

    def discriminator(self, t: TermInputs) -> Any:
        return None

    def generator(self, t: TermInputs) -> Any:
        return None

    def weight_for(self, side: str) -> float:
        """What the value is multiplied by before it is added to ``side``'s loss (the
        value itself is what is logged)."""
        return 1.0


def split_loss_output(out: Any, method: str) -> Scalars:
    """A loss method's result as ``{"loss": value, <extra scalars>}``, all float32 scalars.

    A method returns the loss (a scalar) or a mapping with ``"loss"`` and extra named
    scalars to log; anything else raises ``ValueError`` saying what is wrong.
    """
    from keras import ops

    if out is None:
        raise ValueError(
            f"{method} returned None; return the loss, a scalar (the mean over the batch)"
        )
    terms = dict(out) if isinstance(out, Mapping) else {"loss": out}
    if "loss" not in terms:
        raise ValueError(
            f"{method} returned a mapping without `loss` (keys: {', '.join(map(str, terms))})"
        )
    result = {}
    for name, value in terms.items():
        value = ops.cast(value, "float32")
        if len(value.shape) != 0:
            what = "a value" if name == "loss" else f"`{name}`"
            raise ValueError(
                f"{method} returned {what} of shape {tuple(value.shape)}, not a scalar (the mean "
                "over the batch)"
            )
        result[str(name)] = value
    return result


def loss_terms(
    component: Any, method: str, compute: Callable[[LossContext], Any], ctx: LossContext
) -> Scalars:
    """Call a loss (or penalty) method under its component's guard; :func:`split_loss_output`
    of the result, a contract violation being a ``ComponentError`` naming the component."""
    from gankit.plugin.registry import SINGULAR

    with component.calling(method):
        out = compute(ctx)
    try:
        return split_loss_output(out, method)
    except ValueError as exc:
        raise ComponentError(
            SINGULAR[component.family], component.name, component.plugin, str(exc)
        ) from None


def adversarial_loss(loss: Any, component: Any, side: str, ctx: LossContext) -> Any:
    """The run's loss component's ``side`` (``"discriminator"`` or ``"generator"``) loss
    on ``ctx`` as a float32 scalar, called under the component's guard when it is given
    (its registry entry: a failure names it)."""
    method = f"{side}_loss"
    compute = getattr(loss, method)
    if component is None:
        return split_loss_output(compute(ctx), method)["loss"]
    return loss_terms(component, method, compute, ctx)["loss"]


def judged_loss(
    loss: Any,
    component: Any,
    side: str,
    discriminator: Any,
    real: Any,
    fake: Any,
    conditions: Mapping[str, Any] | None = None,
) -> Any:
    """``side``'s adversarial loss with ``discriminator`` judging ``real`` and ``fake``
    images (beside ``conditions``, if any), as translation schemes use it: for the
    discriminator both logits; for the generator the real logits without gradient and
    only if the loss reads them."""
    from keras import ops

    extra = dict(conditions or {})

    def logits(images: Any) -> Any:
        return discriminator({"image": images, **extra}, training=True)

    if side == "discriminator":
        ctx = LossContext(real, fake, logits(real), logits(fake), discriminator=discriminator)
    else:
        ctx = LossContext.lazy(
            real,
            fake,
            lambda: ops.stop_gradient(logits(real)),
            lambda: logits(fake),
            discriminator=discriminator,
        )
    return adversarial_loss(loss, component, side, ctx)
