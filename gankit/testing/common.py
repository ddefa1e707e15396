"""What the contract checks share: failing with a message that ``python -O`` keeps, the
precisions the trainer may pick, and building a component under one of them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gankit.conditions import LABEL, SOURCE
from gankit.types import ModelSpec

__all__ = [
    "PRECISIONS",
    "DEFAULT_SPEC",
    "CONDITIONAL_SPEC",
    "LABEL_SPEC",
    "require",
    "build_model",
    "condition_inputs",
]

# Every compute policy the trainer may build models under (gankit.nn.precision).
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")

DEFAULT_SPEC = ModelSpec(image_shape=(32, 32, 3), latent_dim=16)
CONDITIONAL_SPEC = ModelSpec(
    image_shape=(32, 32, 3),
    latent_dim=16,
    conditions={"content": (32, 32, 1), "style": (32, 32, 3)},
)
LABEL_SPEC = ModelSpec(image_shape=(32, 32, 3), latent_dim=16, num_classes=5)  # --condition label
# a translation generator's (--scheme cyclegan): a one-channel source to an RGB image
TRANSLATION_SPEC = ModelSpec(
    image_shape=(32, 32, 3), latent_dim=16, conditions={SOURCE: (32, 32, 1)}, translation=True
)


def require_registrable(family: str, factory: Callable[..., Any]) -> None:
    """The registration rules the registry applies to ``factory`` (the same function):
    what passes the kit registers."""
    from gankit.plugin.options import signature_problem

    problem = signature_problem(family, factory)
    require(problem is None, f"the registry would refuse this factory: {problem}")


def require(condition: Any, message: str) -> None:
    """Raise ``AssertionError(message)`` unless ``condition``; unlike ``assert``, this
    still checks under ``python -O``."""
    if not condition:
        raise AssertionError(message)


def build_model(
    factory: Callable[..., Any],
    spec: ModelSpec,
    options: Mapping[str, Any] | None,
    seed: int,
    precision: str = "float32",
) -> Any:
    """``factory(spec, **options)`` under Keras's seed ``seed`` and dtype policy ``precision``."""
    import keras

    from gankit.nn.precision import dtype_policy

    keras.utils.set_random_seed(seed)
    with dtype_policy(precision):
        return factory(spec, **dict(options or {}))


def condition_inputs(
    spec: ModelSpec, batch: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Random condition images, and ``label`` (classes in turn) when ``spec`` has classes."""
    inputs = {
        name: rng.uniform(-1, 1, (batch, *shape)).astype(np.float32)
        for name, shape in spec.conditions.items()
    }
    if spec.num_classes:
        inputs[LABEL] = (np.arange(batch) % spec.num_classes).astype(np.int32)
    return inputs
