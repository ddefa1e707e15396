"""When a training run does what between its steps: log, write samples, checkpoint,
evaluate. The device runs every step between two such events in one call."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Schedule", "Due"]


@dataclass(frozen=True)
class Due:
    """What is due after the step just finished."""

    log: bool
    samples: bool
    checkpoint: bool
    evaluate: bool
    at_end: bool


@dataclass(frozen=True)
class Schedule:
    """Intervals in steps (``eval_every`` 0: never) up to ``total`` steps."""

    total: int
    log_every: int
    sample_every: int
    checkpoint_every: int
    eval_every: int = 0

    def chunk(self, step: int, steps_per_epoch: int) -> int:
        """Steps to run from ``step`` before the next event or the end of the epoch."""
        intervals = [self.log_every, self.sample_every, self.checkpoint_every]
        if self.eval_every:
            intervals.append(self.eval_every)
        return min(
            self.total - step,
            steps_per_epoch - step % steps_per_epoch,
            *(every - step % every for every in intervals),
        )

    def due(self, step: int, *, stopping: bool = False) -> Due:
        """The events at ``step``; a stop (signal) forces a log line and a checkpoint."""
        at_end = step == self.total
        evaluate = bool(self.eval_every) and (at_end or step % self.eval_every == 0)
        return Due(
            log=at_end or step % self.log_every == 0 or stopping or evaluate,
            samples=at_end or step % self.sample_every == 0,
            checkpoint=at_end or step % self.checkpoint_every == 0 or stopping,
            evaluate=evaluate,
            at_end=at_end,
        )
