"""The processor port: read a local file (CSV or XLSX) into batches of good records and row errors."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from headwater.domain import RowError


@dataclass
class Batch:
    """Good rows as an Arrow table whose columns are the record table's columns (plus ``line``).

    ``cells`` holds every row of the batch as read, every column of the file as a string (see
    ``processors.rejected``), so that the rows rejected later, by the writer, get their text too."""

    records: pa.Table
    errors: list[RowError] = field(default_factory=list)
    cells: pa.RecordBatch | None = None
    delimiter: str = ","


@dataclass(frozen=True)
class ProcessOptions:
    amount_calculated: bool = False
    file_import_type: str = "PARTY"
    today: date | None = None  # for "stock date not in the future"; None: the current UTC date
    batch_rows: int = 10_000


@dataclass(frozen=True)
class FileInfo:
    """What the reader found out about the file, for the ledger."""

    file_type: str  # CSV or EXCEL
    header_line: str | None = None  # the header as the file writes it (XLSX: its cells, comma-separated)
    delimiter: str | None = None


class ReadAhead(Exception):
    """A file read while it was still arriving turned out to need the whole file first (not UTF-8, a
    line longer than a block, a quote never closed, not a CSV at all, ...) or stopped arriving:
    whatever was read of it must be discarded, and the file read again once it is all there."""


class GrowingFile:
    """A local file still being written by its download: a reader waits for its bytes.

    The download says how far it got (``grew``) after flushing, and how it ended (``finish`` with
    its checksum, or ``fail``); ``release`` makes every reader see the end at once (an import given
    up). Thread-safe: downloads are written from one thread, read from another."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self.checksum: str | None = None
        self.complete = False
        self._ended = False
        self._turn = threading.Condition()

    def grew(self, size: int) -> None:
        with self._turn:
            self.size = size
            self._turn.notify_all()

    def finish(self, checksum: str, size: int) -> None:
        with self._turn:
            self.checksum, self.size, self.complete, self._ended = checksum, size, True, True
            self._turn.notify_all()

    def fail(self) -> None:
        self.release()

    def release(self) -> None:
        with self._turn:
            self._ended = True
            self._turn.notify_all()

    def wait_beyond(self, position: int) -> bool:
        """Wait until the file holds bytes beyond ``position`` (True) or nothing more will come."""
        with self._turn:
            self._turn.wait_for(lambda: self.size > position or self._ended)
            return self.size > position

    def wait_for(self, size: int) -> None:
        """Wait until the file holds ``size`` bytes or nothing more will come."""
        with self._turn:
            self._turn.wait_for(lambda: self.size >= size or self._ended)


class Processor(Protocol):
    processor_type: int

    def read(
        self, path: Path, options: ProcessOptions, growing: GrowingFile | None = None
    ) -> tuple[FileInfo, Iterator[Batch]]:
        """Blocking (the engine runs it in a thread). Raises ``FileUnreadable`` for a file that cannot be
        read at all (not CSV/XLSX, required columns missing); bad rows become ``RowError``s instead.

        ``growing``: the file is still being downloaded; its rows are read as they arrive, which can
        go wrong in ways only the whole file tells, so any failure is ``ReadAhead`` instead (and the
        batches end with it when the file proved different from what was assumed)."""
        ...
