"""What a condition is: the one owner of condition names, kinds and layouts.

A run's models see, beside the image, zero or more **conditions**: condition images
a dataset provides (mnist-cifar's ``content`` and ``style``; a paired input) or the
class **label** (int32, shape ``(B,)``, values in ``[0, num_classes)``). With ``--parts``
the generator draws condition images itself. The trainer, sampling, export, the
contract kit and ``list-plugins`` ask this module; no other module spells the label's
name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LABEL",
    "Condition",
    "is_label",
    "image_conditions",
    "label_only",
    "conditioned_on_label",
    "describe_conditions",
    "class_names",
]

LABEL = "label"  # the class condition: an int32 input of shape (B,) beside the images


@dataclass(frozen=True)
class Condition:
    """One condition a run feeds its models.

    Attributes:
        name: its input name (``content``; ``label``).
        kind: ``"image"`` or ``"label"``.
        shape: one example's shape (``(32, 32, 1)``; ``()`` for the label).
        dtype: ``"float32"`` for images (in [-1, 1]), ``"int32"`` for the label.
        drawn: whether the generator draws it (``--parts``) instead of being given it.
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    dtype: str
    drawn: bool = False

    @classmethod
    def of(cls, name: str, dataset: Any, *, drawn: bool = False) -> Condition:
        """The condition ``name`` as ``dataset`` provides it."""
        if is_label(name):
            return cls(name, "label", (), "int32", drawn)
        return cls(name, "image", tuple(dataset.conditions[name]), "float32", drawn)


def is_label(name: str) -> bool:
    """Whether ``name`` is the class label (not an image)."""
    return name == LABEL


def image_conditions(names: Iterable[str]) -> list[str]:
    """The condition images among ``names``, in order."""
    return [n for n in names if not is_label(n)]


def conditioned_on_label(names: Iterable[str]) -> bool:
    """Whether a run given ``names`` is conditioned on the class label."""
    return any(is_label(n) for n in names)


def label_only(names: Sequence[str]) -> bool:
    """Whether the label is the run's only condition (samples are drawn per class)."""
    return list(names) == [LABEL]


def describe_conditions(conditions: Mapping[str, Any]) -> str:
    """``"content (32, 32, 1), label"``: what a dataset offers, for listings and errors."""
    return ", ".join(n if is_label(n) else f"{n} {tuple(s)}" for n, s in conditions.items())


def class_names(dataset: Any) -> tuple[str, ...]:
    """A dataset's class names in label order (empty: it has no labels)."""
    return tuple(str(c) for c in (getattr(dataset, "class_names", None) or ()))
