"""Progress of a training run: a live bar or plain lines, and the training-time stopwatch."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["Progress", "Stopwatch"]


class Progress:
    """A live bar on a terminal (and in Jupyter, where ``rich`` renders it); a plain line
    per logging step elsewhere (CI, nohup); ``live="off"``: nothing (``gankit.train(...,
    progress=False)``)."""

    def __init__(
        self, total: int, initial: int, *, live: bool | str | None = None, stream: Any = None
    ) -> None:
        self.total, self.initial = total, initial
        self.stream = stream or sys.stderr
        self.silent = live == "off"
        self.live = False if self.silent else self.stream.isatty() if live is None else bool(live)
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("step"),
                MofNCompleteColumn(),
                BarColumn(),
                TextColumn("{task.fields[stats]}"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(
                "train", total=self.total, completed=self.initial, stats=""
            )
        return self

    def update(self, step: int, record: Mapping[str, Any] | None = None) -> None:
        stats = _format_stats(record) if record else None
        if self._bar is not None:
            kwargs = {"stats": stats} if stats else {}
            self._bar.update(self._task, completed=step, **kwargs)
        elif record is not None and not self.silent:
            eta = ""
            ips = record.get("images_per_sec") or 0
            if ips > 0 and record.get("batch_size"):
                seconds = (self.total - step) * record["batch_size"] / ips
                eta = f"  eta {_hms(seconds)}"
            print(f"step {step}/{self.total}  {stats}{eta}", file=self.stream, flush=True)

    def message(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text, highlight=False, markup=False)
        elif not self.silent:
            print(text, file=self.stream, flush=True)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


_PLAIN_KEYS = {"step", "images_per_sec", "elapsed_s", "batch_size"}


def _format_stats(record: Mapping[str, Any]) -> str:
    """Each group's loss and the speed, then the rest in the record's order: evaluation
    results of this step (``fid 12.3``), then the terms' scalars."""
    losses = [k for k in record if k.endswith("_loss") and isinstance(record[k], (int, float))]
    extra = "".join(
        f"  {key} {value:.4g}"
        for key, value in record.items()
        if key not in _PLAIN_KEYS and key not in losses and isinstance(value, (int, float))
    )
    head = "".join(f"{key} {record[key]:.4f}  " for key in losses)
    return f"{head}{record['images_per_sec']:.0f} img/s{extra}"


def _hms(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Stopwatch:
    """Training time only: sample and checkpoint writes happen outside ``running()``."""

    def __init__(self) -> None:
        self.total = 0.0
        self._start: float | None = None

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._start is not None
        self.total += time.perf_counter() - self._start
        self._start = None

    def lap(self) -> float:
        value, self.total = self.total, 0.0
        return value
