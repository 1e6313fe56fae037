"""The processor port: read a local file (CSV or XLSX) into batches of good records and row errors."""

from __future__ import annotations

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


class Processor(Protocol):
    processor_type: int

    def read(self, path: Path, options: ProcessOptions) -> tuple[FileInfo, Iterator[Batch]]:
        """Blocking (the engine runs it in a thread). Raises ``FileUnreadable`` for a file that cannot be
        read at all (not CSV/XLSX, required columns missing); bad rows become ``RowError``s instead."""
        ...
