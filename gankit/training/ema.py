"""The exponential moving average of a network's weights (``--ema-decay``).

The average is Keras's own: the generator's Adam keeps it (``use_ema``), updated after
every generator step, so it lives in the optimizer's variables and in every
checkpoint. Its momentum warms up, ``min(decay, (1 + t) / (10 + t))`` at update t
(:class:`gankit.nn.optimizers.Adam`), so early sample grids follow training. An
averaged copy of the generator, built by the same factory, holds it for sample grids,
evaluation and the export (Karras et al. 2018; Yazıcı et al. 2019).
"""

from __future__ import annotations

from typing import Any

__all__ = ["AveragedNetwork", "moving_averages"]


def moving_averages(optimizer: Any) -> list[Any]:
    """The optimizer's moving averages of its trainable variables, in their order."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)  # under LossScaleOptimizer
    return list(getattr(inner, "_model_variables_moving_average", None) or [])


class AveragedNetwork:
    """A second network holding the moving average of a trained one's weights.

    ``averages`` are the optimizer's moving averages of the network's trainable
    variables, in their order (:func:`moving_averages`, sliced to the network where the
    optimizer updates several). Build it inside the strategy scope and dtype policy the
    trained network was built under; :meth:`model` copies the averages in (and the
    batch-norm statistics, which are averages already) and returns it.
    """

    def __init__(self, network: Any, copy: Any, averages: list[Any]) -> None:
        self.network, self.copy, self.averages = network, copy, list(averages)
        if len(self.averages) != len(network.trainable_variables):
            raise RuntimeError("the network's optimizer keeps no moving average (use_ema=False?)")

    def model(self) -> Any:
        for target, average in zip(self.copy.trainable_variables, self.averages):
            target.assign(average)
        for target, source in zip(
            self.copy.non_trainable_variables, self.network.non_trainable_variables
        ):
            target.assign(source)
        return self.copy
