"""Terms: the pieces a scheme's loss is the sum of, each a small object with its own
scalars (TF-GAN's shape: a pure function per term, the scheme's loss their weighted sum).

A term has a ``name`` (what its scalar is logged as) and two methods, each returning a
float32 scalar to add to that side's loss, or None when it adds nothing there:

- ``discriminator(t: TermInputs)``: added to the discriminator's loss;
- ``generator(t: TermInputs)``: added to the generator's loss.

Terms are written with ``keras.ops`` and model calls. A scheme builds the terms a run
needs with each term class's ``for_run(context)`` (None: the run does not use it) and
adds their values; adding a term is its module here plus its line in a scheme's list.
"""

from __future__ import annotations

from gankit.terms.base import (
    Term,
    TermInputs,
    adversarial_loss,
    judged_loss,
    loss_terms,
    split_loss_output,
)
from gankit.terms.classes import ClassTerm
from gankit.terms.penalty import PenaltyTerm
from gankit.terms.pool import ImagePool
from gankit.terms.reconstruction import ReconstructionTerm, l1_reconstruction_loss
from gankit.terms.rotation import RotationTerm

__all__ = [
    "Term",
    "TermInputs",
    "loss_terms",
    "adversarial_loss",
    "judged_loss",
    "split_loss_output",
    "ClassTerm",
    "PenaltyTerm",
    "ReconstructionTerm",
    "RotationTerm",
    "l1_reconstruction_loss",
    "ImagePool",
]
