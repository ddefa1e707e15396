"""One writer per run directory: the process that trains a run holds ``RUN/.lock``.

The lock is an advisory ``flock`` on that file, held while training. The operating
system releases it when the process ends, however it ends, so a lock left by a
killed process never blocks the next run. The file also holds the holder's pid, for
the message a second process gets. Where ``fcntl`` is missing (Windows) no lock is
taken.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from gankit.errors import GankitError

__all__ = ["RunLock", "RunBusyError"]


class RunBusyError(GankitError):
    """Another process is training the run directory."""


class RunLock:
    """``with RunLock(run.lock_file):`` — exclusive, or ``RunBusyError`` at once."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise RunBusyError(
                f"{self.path.parent} is being trained by another process (pid {holder}); "
                "wait for it to finish or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.release()
