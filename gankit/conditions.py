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
    "NOISE",
    "SOURCE",
    "input_meanings",
    "translation_source",
    "data_problem",
]

LABEL = "label"  # the class condition: an int32 input of shape (B,) beside the images
NOISE = "z"  # a generator's noise input: float32 of shape (B, latent_dim), standard normal
# A translation dataset's source-domain image (domain A; the "image" is domain B), and a
# translation generator's one input (gankit.ModelSpec.translation).
SOURCE = "source"


@dataclass(frozen=True)
class Condition:
    """One condition a run feeds its models.

    Attributes:
        name: its input name (``content``; ``label``).
        kind: ``"image"`` or ``label``.
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


def input_meanings(
    shapes: Mapping[str, Sequence[int | None]], names: Sequence[str] = ()
) -> dict[str, str]:
    """What each of a network's inputs means, for its export: ``shapes`` maps input
    names to their shapes with the batch axis (``{"z": (None, 128), "label": (None,)}``);
    ``names`` are the class names in label order."""
    meanings = {}
    for name, shape in shapes.items():
        dims = ", ".join("B" if d is None else str(d) for d in shape)
        if name == NOISE:
            meanings[name] = f"noise: float32 ({dims}), standard normal"
        elif name == SOURCE:
            meanings[name] = f"source image to translate: float32 ({dims}), pixels in [-1, 1]"
        elif is_label(name):
            classes = f"0..{len(names) - 1}, class_names in order" if names else "class index"
            meanings[name] = f"class label: int32 ({dims}), {classes}"
        else:
            meanings[name] = f"condition image '{name}': float32 ({dims}), pixels in [-1, 1]"
    return meanings


def translation_source(dataset: Any) -> str | None:
    """The condition a translation dataset's domain A is (``source``; mnist-cifar's
    ``content``), or None for a dataset of one domain."""
    source = getattr(dataset, "source", None)
    return source if source in (getattr(dataset, "conditions", None) or {}) else None


def data_problem(dataset: Any, kind: str) -> str | None:
    """What ``dataset`` lacks for a scheme that requires ``kind`` of data
    (``gankit.scheme.DATA_KINDS``), as the end of a sentence; None when it has it."""
    if kind == "images":
        return None
    if translation_source(dataset) is None:
        return (
            "has one image domain, not two (your own pictures: trainA/ and trainB/ folders, "
            "or -o dataset.domains=A,B)"
        )
    if kind == "paired" and not getattr(dataset, "paired", False):
        return (
            "has two unpaired domains, not pairs (paired pictures: A/ and B/ folders with matching "
            "file names and -o dataset.layout=paired, or side-by-side files)"
        )
    return None
