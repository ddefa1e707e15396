"""Importing TensorFlow without its start-up noise.

TensorFlow prints several C++ log lines to stderr while it imports (before absl
logging is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` cannot stop all of them). The CLI
imports it once through here; ``GANKIT_DEBUG=1`` shows everything.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["import_tensorflow"]


def import_tensorflow() -> Any:
    """Import and return ``tensorflow``, hiding its import-time C++ logging."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if os.environ.get("GANKIT_DEBUG", "") not in ("", "0"):
        import tensorflow

        return tensorflow
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import keras  # noqa: F401  (keras logs on import too)
            import tensorflow

            tensorflow.config.list_physical_devices("GPU")  # cuInit logs here
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return tensorflow
