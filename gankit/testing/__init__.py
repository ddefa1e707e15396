"""Contract checks for gankit components, for built-in and third-party plugins alike.

Call them from your plugin's tests (like scikit-learn's ``check_estimator``)::

    from gankit.testing import check_generator
    from gankit_myplugin import build_my_generator

    def test_my_generator_meets_the_contract():
        check_generator(build_my_generator, options={"width": 8})

Each check raises ``AssertionError`` with a message saying which part of the contract
failed (also under ``python -O``), and returns nothing when the component meets it.
Model and loss checks run under every precision the trainer may pick (float32,
mixed_bfloat16, mixed_float16). Keep ``options`` small so the checks run in seconds.
"""

from __future__ import annotations

from gankit.testing.common import CONDITIONAL_SPEC, DEFAULT_SPEC, LABEL_SPEC, PRECISIONS
from gankit.testing.data import TinyLabelledDataset, check_dataset, check_example
from gankit.testing.loggers import check_logger
from gankit.testing.losses import ProbeDiscriminator, check_loss, check_penalty
from gankit.testing.metrics import check_metric
from gankit.testing.models import (
    check_discriminator,
    check_generator,
    reference_discriminator,
    reference_generator,
)
from gankit.testing.schemes import check_scheme

__all__ = [
    "DEFAULT_SPEC",
    "CONDITIONAL_SPEC",
    "LABEL_SPEC",
    "PRECISIONS",
    "check_generator",
    "check_discriminator",
    "check_loss",
    "check_penalty",
    "check_dataset",
    "check_logger",
    "check_example",
    "check_metric",
    "check_scheme",
    "TinyLabelledDataset",
    "ProbeDiscriminator",
    "reference_generator",
    "reference_discriminator",
]
