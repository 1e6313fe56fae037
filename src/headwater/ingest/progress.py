"""A run's progress while a file is under way: bytes as it downloads, rows as it imports.

The import engine reports through its ``progress`` callback (``ProgressCallback``): ``planned``,
``file_started``, ``download_progress`` (``path``, ``bytes`` so far, ``total``), ``rows_progress``
(``path``, ``rows`` read so far), ``file_finished``. The two ``*_progress`` events come at most every
``REPORT_INTERVAL`` seconds per file, and once more when the file's download or import ends; the callback
always runs on the event loop's thread, even when a connector writes the file from a worker thread.
Nothing here runs when no callback is given.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import anyio.from_thread

ProgressCallback = Callable[[str, dict[str, Any]], None]

REPORT_INTERVAL = 0.1  # at most ten updates a second: enough for a progress bar, nothing for the import


class Throttle:
    """Says when a report is due: at once, then at most every ``interval`` seconds."""

    def __init__(self, interval: float = REPORT_INTERVAL) -> None:
        self.interval = interval
        self._next = 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.interval
        return True


def on_loop_thread(callback: Callable[[int], None]) -> Callable[[int], None]:
    """``callback``, run on the thread that made it (the event loop's), whichever thread calls it.

    Connectors write a download from an anyio worker thread; such a call waits for the loop to run it.
    """
    loop_thread = threading.get_ident()

    def call(value: int) -> None:
        if threading.get_ident() == loop_thread:
            callback(value)
        else:
            anyio.from_thread.run_sync(callback, value)

    return call


@dataclass(frozen=True)
class FileProgress:
    """One file's progress events, sent to the run's callback."""

    notify: ProgressCallback
    path: str
    total: int

    def downloaded(self, done: int) -> None:
        self.notify("download_progress", {"path": self.path, "bytes": done, "total": self.total})

    def read(self, rows: int) -> None:
        self.notify("rows_progress", {"path": self.path, "rows": rows})


class Sink(Protocol):
    def write(self, data: bytes) -> int: ...

    def flush(self) -> None: ...


class ReportingSink:
    """Writes through to ``target``, reporting the bytes written so far when a report is due."""

    def __init__(
        self, target: Sink, report: Callable[[int], None], interval: float = REPORT_INTERVAL
    ) -> None:
        self.target = target
        self.report = report
        self.written = 0
        self._throttle = Throttle(interval)

    def write(self, data: bytes) -> int:
        written = self.target.write(data)
        self.written += len(data)
        if self._throttle.due():
            self.report(self.written)
        return written

    def flush(self) -> None:
        self.target.flush()


class RowsReporter:
    """Reports a file's rows read so far: when due, and once at the end."""

    def __init__(self, report: Callable[[int], None], interval: float = REPORT_INTERVAL) -> None:
        self.report = report
        self._throttle = Throttle(interval)
        self._reported: int | None = None

    def rows(self, count: int) -> None:
        if self._throttle.due():
            self._send(count)

    def done(self, count: int) -> None:
        if count != self._reported:
            self._send(count)

    def _send(self, count: int) -> None:
        self._reported = count
        self.report(count)


__all__ = [
    "REPORT_INTERVAL",
    "FileProgress",
    "ProgressCallback",
    "ReportingSink",
    "RowsReporter",
    "Throttle",
    "on_loop_thread",
]
