"""Open a partner file, CSV or XLSX, as a stream of Arrow record batches of strings.

Every batch holds one string column per header column read, named by the header lower-cased (so column
names match case-insensitively), every column of the file again as "cells" (``processors.rejected``:
the text of rejected rows is made from them), plus ``line``: the record's 1-based number, the header being line 1.
That is the physical line number unless an earlier quoted value spans several lines: such a record
still counts as one line, so later numbers are off by the extra lines (the CSV parser numbers records,
not newline characters). Blank lines are counted and skipped silently; a row with the wrong number of
values becomes a ``WrongColumnCount`` row error, and a record whose quoted value is never closed an
``UnterminatedQuote`` one (the lines after it are read as rows again; see ``quotes``).

CSV: the delimiter (``,`` ``;`` or tab) is the one the header line uses most; the encoding is UTF-8,
with or without BOM, when the whole file decodes as UTF-8, else Windows-1252 (``cp1252``). A cheap
pre-scan checks the encoding, notes whether the file has quotes at all and sizes the parser's block so
a line of any length fits in one block.

XLSX: the first sheet, read in a contained child process (``headwater.ingest.xlsx``); line numbers are the
sheet's row numbers.
"""

from __future__ import annotations

import codecs
import copy
import csv
import io
import threading
from collections.abc import Callable, Collection, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from headwater.domain import RowError
from headwater.errors import FileUnreadable
from headwater.ingest.processors import cp1252
from headwater.ingest.processors.base import GrowingFile, ReadAhead
from headwater.ingest.processors.quotes import TooManyUnterminatedQuotes, unterminated_quote_cuts
from headwater.ingest.processors.rejected import cell_name, csv_row, is_cell, row_texts
from headwater.ingest.xlsx import open_first_sheet

CSV = "CSV"
EXCEL = "EXCEL"
LINE = "line"

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and other OLE documents)
_BOM = codecs.BOM_UTF8
_SAMPLE = 64 * 1024
_MAX_HEADER = 1024 * 1024
_SCAN_CHUNK = 8 * 1024 * 1024
_WINDOW = 256 * 1024  # the pre-scan looks for a newline in each window of this size
_BLOCK = 1024 * 1024
_DELIMITERS = (",", ";", "\t")


@dataclass
class RawBatch:
    """Rows as read (string columns plus ``line``) and the rows that could not even be split."""

    columns: pa.RecordBatch
    errors: list[RowError] = field(default_factory=list)


@dataclass
class RawTable:
    file_type: str
    header: dict[str, str]  # lower-cased column name -> the name as the file writes it
    batches: Iterator[RawBatch]
    close: Callable[[], None] = lambda: None  # for a table given up before its batches are read
    header_line: str = ""  # the header as the file writes it (XLSX: its cells as a CSV line)
    delimiter: str = ","

    def has(self, name: str) -> bool:
        return name.lower() in self.header


def open_table(
    path: Path, wanted: Collection[str], batch_rows: int = 50_000, growing: GrowingFile | None = None
) -> RawTable:
    """Open ``path``; only the ``wanted`` columns (any case) are read. Raises ``FileUnreadable``.

    ``growing``: the file is still arriving. Only a CSV table is read so, on the assumption that the
    whole file is as its first part (UTF-8, no line longer than a block, every quote closed); once it
    has arrived the assumption is checked, and the batches end with ``ReadAhead`` if it was wrong."""
    wanted_lower = {name.lower() for name in wanted}
    if growing is not None:
        growing.wait_for(_MAX_HEADER)
    with path.open("rb") as handle:
        head = handle.read(_SAMPLE)
    if growing is not None and (
        not head.strip() or head.startswith((_ZIP_MAGIC, _OLE_MAGIC)) or b"\x00" in head
    ):
        raise ReadAhead("not a CSV table: read once it has arrived")
    if not head.strip() or head.strip() == _BOM:
        raise FileUnreadable("the file is empty", "EmptyFile")
    if head.startswith(_ZIP_MAGIC):
        return _open_xlsx(path, wanted_lower, batch_rows)
    if head.startswith(_OLE_MAGIC):
        raise FileUnreadable(
            "legacy .xls workbooks are not supported: save the sheet as XLSX or CSV", "InvalidFileFormat"
        )
    if b"\x00" in head:
        raise FileUnreadable("the file is binary, not a CSV or XLSX table", "NotATable")
    return _open_csv(path, wanted_lower, batch_rows, growing)


# --- CSV ---------------------------------------------------------------------------------------------


class _PacedFile(io.RawIOBase):
    """The file as Arrow's streaming CSV reader sees it.

    That reader reads up to 32 blocks ahead in a background thread; this file makes the thread wait
    while it is more than a few blocks ahead of the batches taken, so memory stays flat however slow
    the database is (measured: Arrow's peak memory fell from 42 MB to 7 MB). The wait has a timeout,
    so a block that yields no batch can never stall the reader for good."""

    def __init__(
        self,
        path: Path,
        start: int = 0,
        end: int | None = None,
        ahead: int = 3,
        patience: float = 2.0,
        growing: GrowingFile | None = None,
    ) -> None:
        super().__init__()
        self._growing = growing
        self._file = path.open("rb")
        self._file.seek(start)
        self._left = None if end is None else end - start
        self._turn = threading.Condition()
        self._reads = 0
        self._taken = 0
        self._ahead = ahead
        self._patience = patience

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with self._turn:
            self._turn.wait_for(
                lambda: self.closed or self._reads - self._taken <= self._ahead, self._patience
            )
            self._reads += 1
        if self.closed:
            return 0
        if self._growing is not None:
            # The end of what has arrived is not the end of the file: wait for more, or its end.
            while not (read := self._file.readinto(buffer)):
                if not self._growing.wait_beyond(self._file.tell()):
                    return 0
            return read
        if self._left is None:
            return self._file.readinto(buffer)
        read = self._file.readinto(memoryview(buffer).cast("B")[: self._left])
        self._left -= read
        return read

    def took_batch(self) -> None:
        with self._turn:
            self._taken += 1
            self._turn.notify_all()

    def close(self) -> None:
        if not self.closed:
            self._file.close()
            super().close()
            with self._turn:
                self._turn.notify_all()


@dataclass
class _Scan:
    utf8: bool
    longest_run: int  # an upper bound, in bytes, of the longest stretch without a newline
    quotes: bool


def _scan(path: Path) -> _Scan:
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    quotes = False
    run = longest = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_SCAN_CHUNK):
            quotes = quotes or b'"' in chunk
            if utf8 and not chunk.isascii():
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            for start in range(0, len(chunk), _WINDOW):
                if chunk.find(b"\n", start, start + _WINDOW) < 0:
                    run += 1
                    longest = max(longest, run)
                else:
                    run = 0
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return _Scan(utf8=utf8, longest_run=(longest + 2) * _WINDOW, quotes=quotes)


def _header_line(path: Path, encoding: str) -> tuple[str, bool]:
    """The first line, decoded, and whether anything follows it."""
    with path.open("rb") as handle:
        sample = handle.read(_MAX_HEADER)
    if sample.startswith(_BOM):
        sample = sample[len(_BOM) :]
    end = sample.find(b"\n")
    if end < 0 and len(sample) >= _MAX_HEADER - len(_BOM):
        raise FileUnreadable("the first line is longer than 1 MB: not a table header", "NotATable")
    first = sample if end < 0 else sample[:end]
    return first.decode(encoding).rstrip("\r"), end >= 0 and bool(sample[end + 1 :].strip())


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _header_names(line: str, delimiter: str) -> list[str]:
    names = next(csv.reader([line], delimiter=delimiter), [])
    return [name.strip() for name in names]


def _index_header(names: list[str]) -> dict[str, int]:
    """Lower-cased name -> position; the first of two columns with the same name wins."""
    index: dict[str, int] = {}
    for position, name in enumerate(names):
        if name:
            index.setdefault(name.lower(), position)
    return index


# What a file still arriving is taken to be: UTF-8, a newline in every window, no quote left open.
_ASSUMED = _Scan(utf8=True, longest_run=2 * _WINDOW, quotes=False)


def _block_size(scan: _Scan) -> int:
    # Small blocks keep memory flat: Arrow's streaming reader holds several dozen blocks' worth of
    # buffers at its peak (measured: ~40x the block size). The block must still hold the longest
    # line whole, and a Windows-1252 byte may grow to three as UTF-8.
    return max(_BLOCK, (2 if scan.utf8 else 3) * scan.longest_run + _BLOCK)


def _open_csv(path: Path, wanted: set[str], batch_rows: int, growing: GrowingFile | None = None) -> RawTable:
    scan = _scan(path) if growing is None else _ASSUMED
    encoding = "utf-8" if scan.utf8 else cp1252.NAME
    line, has_rows = _header_line(path, encoding)
    delimiter = _delimiter(line)
    names = _header_names(line, delimiter)
    index = _index_header(names)
    if not index:
        raise FileUnreadable("the first line holds no column names", "NotATable")
    header = {lower: names[position] for lower, position in index.items()}
    read = sorted((lower, position) for lower, position in index.items() if lower in wanted)
    if not has_rows:
        rows: Iterator[RawBatch] = iter(())
        if growing is not None:
            rows = _checked_when_arrived(path, growing, rows, delimiter)
        return RawTable(CSV, header, rows, header_line=line, delimiter=delimiter)
    try:
        cuts = unterminated_quote_cuts(path, delimiter) if scan.quotes else []
    except TooManyUnterminatedQuotes as exc:
        raise FileUnreadable(f"the file is not a readable CSV table: {exc}", "NotATable") from exc
    synthetic = [f"c{i}" for i in range(len(names))]
    block = _block_size(scan)
    options = _ParseSettings(
        read_options=pa_csv.ReadOptions(
            use_threads=False,  # the parser numbers invalid rows only when reading serially
            block_size=block,
            column_names=synthetic,
            encoding="utf8" if scan.utf8 else cp1252.NAME,
        ),
        parse_options=pa_csv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(synthetic, pa.string()),
            include_columns=synthetic,
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
        renames={synthetic[position]: lower for lower, position in read},
        cells={name: cell_name(position) for position, name in enumerate(synthetic)},
        batch_rows=batch_rows,
    )
    if growing is not None:
        first = _SegmentReader(path, _Segment(0, None, unterminated=False), options, 2, growing)
        batches = _checked_when_arrived(path, growing, _csv_batches(path, first, [], options), delimiter)
        return RawTable(CSV, header, batches, first.close, header_line=line, delimiter=delimiter)
    # Each quote never closed ends one parse (its record is the parse's last) and starts the next.
    bounds = zip([0, *cuts], [*cuts, path.stat().st_size], strict=True)
    segments = [
        _Segment(start, end, unterminated=number < len(cuts))
        for number, (start, end) in enumerate(bounds)
        if start < end
    ]
    first = _SegmentReader(path, segments[0], options, first_line=2)
    batches = _csv_batches(path, first, segments[1:], options)
    return RawTable(CSV, header, batches, first.close, header_line=line, delimiter=delimiter)


def _checked_when_arrived(
    path: Path, growing: GrowingFile, batches: Iterator[RawBatch], delimiter: str
) -> Iterator[RawBatch]:
    """The batches of a file read as it arrived, ending with ``ReadAhead`` unless the whole file,
    once there, is read exactly as the batches were: UTF-8, the same block size, no quote left open.
    The checks reread the file from the page cache, a small part of what parsing it costs."""
    try:
        yield from batches
    except FileUnreadable as exc:
        raise ReadAhead(f"read as it arrived: {exc.message}") from exc
    if not growing.complete:
        raise ReadAhead("the file stopped arriving")
    scan = _scan(path)
    if not scan.utf8 or _block_size(scan) != _block_size(_ASSUMED):
        raise ReadAhead("the file is not as its first part: read again")
    try:
        cuts = unterminated_quote_cuts(path, delimiter) if scan.quotes else []
    except TooManyUnterminatedQuotes as exc:
        raise ReadAhead("a quote is never closed") from exc
    if cuts:
        raise ReadAhead("a quote is never closed")


@dataclass(frozen=True)
class _ParseSettings:
    read_options: pa_csv.ReadOptions
    parse_options: pa_csv.ParseOptions
    convert_options: pa_csv.ConvertOptions
    renames: dict[str, str]  # synthetic column name -> lower-cased header name
    cells: dict[str, str]  # synthetic column name -> its cell column (every column of the file)
    batch_rows: int


@dataclass(frozen=True)
class _Segment:
    start: int
    end: int | None  # None: the end of a file still arriving
    unterminated: bool  # its last record holds a quote never closed


class _SegmentReader:
    """Arrow's streaming CSV reader over one segment of the file, numbering lines from ``first_line``."""

    def __init__(
        self,
        path: Path,
        segment: _Segment,
        options: _ParseSettings,
        first_line: int,
        growing: GrowingFile | None = None,
    ) -> None:
        self.segment = segment
        self.first_line = first_line
        self.invalid: list[tuple[int, int, int, str]] = []
        self.source = _PacedFile(path, segment.start, segment.end, growing=growing)
        header_skipped = 1 if segment.start == 0 else 0
        offset = first_line - 1 - header_skipped  # Arrow numbers the segment's records from 1

        def on_invalid_row(row: Any) -> str:
            number = offset + int(row.number)
            self.invalid.append((number, int(row.expected_columns), int(row.actual_columns), str(row.text)))
            return "skip"

        read_options = copy.copy(options.read_options)
        read_options.skip_rows = header_skipped
        parse_options = copy.copy(options.parse_options)
        parse_options.invalid_row_handler = on_invalid_row
        try:
            self.reader = pa_csv.open_csv(
                self.source,
                read_options=read_options,
                parse_options=parse_options,
                convert_options=options.convert_options,
            )
        except (pa.ArrowInvalid, UnicodeError) as exc:
            self.source.close()
            raise FileUnreadable(f"the file is not a readable CSV table: {exc}", "NotATable") from exc

    def close(self) -> None:
        self.source.close()


def _csv_batches(
    path: Path, first: _SegmentReader, rest: list[_Segment], options: _ParseSettings
) -> Iterator[RawBatch]:
    current = first
    try:
        next_line = yield from _numbered_batches(current, options)
        for segment in rest:
            current = _SegmentReader(path, segment, options, next_line)
            try:
                next_line = yield from _numbered_batches(current, options)
            finally:
                current.close()
    finally:
        first.close()


def _numbered_batches(segment: _SegmentReader, options: _ParseSettings) -> Generator[RawBatch, None, int]:
    """The segment's rows and row errors; returns the line number of the record after its last."""
    renames, cells, batch_rows = options.renames, options.cells, options.batch_rows
    names = [*renames.values(), *cells.values(), LINE]
    next_line = segment.first_line
    pending: list[tuple[int, int, int, str]] = []
    held: tuple[pa.RecordBatch, list[RowError]] | None = None
    while True:
        try:
            record_batch = segment.reader.read_next_batch()
        except StopIteration:
            break
        except (pa.ArrowInvalid, UnicodeError) as exc:
            raise FileUnreadable(f"the CSV file cannot be parsed: {exc}", "NotATable") from exc
        segment.source.took_batch()
        pending.extend(segment.invalid)
        segment.invalid.clear()
        pending.sort()
        rows = record_batch.num_rows
        skipped = {entry[0] for entry in pending}
        if skipped:
            numbers = range(next_line, next_line + rows + len(skipped))
            lines = pa.array([n for n in numbers if n not in skipped][:rows], pa.int64())
        else:
            lines = pa.array(range(next_line, next_line + rows), pa.int64())
        last = lines[-1].as_py() if rows else next_line - 1
        reported = [entry for entry in pending if entry[0] <= last]
        pending = [entry for entry in pending if entry[0] > last]
        next_line = last + 1
        columns = [record_batch.column(name) for name in [*renames, *cells]]
        table = pa.RecordBatch.from_arrays([*columns, lines], names=names)
        errors = [_wrong_count(*entry) for entry in reported]
        if not segment.segment.unterminated:
            yield from _sliced(_without_blank_rows(table), errors, batch_rows)
        elif held is not None and rows == 0:
            held = (held[0], held[1] + errors)
        else:
            # The segment's last record is the one whose quote is never closed: keep the latest
            # batch back until the segment ends, to take that record out.
            if held is not None:
                yield from _sliced(_without_blank_rows(held[0]), held[1], batch_rows)
            held = (table, errors)
    pending.extend(segment.invalid)
    pending.sort()
    final = max([next_line - 1, *(entry[0] for entry in pending)])
    if segment.segment.unterminated:
        table, errors = held if held is not None else (_empty_batch(names), [])
        unterminated = RowError(
            final, None, "UnterminatedQuote", "a quoted value on this line is never closed"
        )
        text = row_texts(table, {final}, options.parse_options.delimiter).get(final)
        text = text if text is not None else next((entry[3] for entry in pending if entry[0] == final), None)
        table = table.filter(pc.not_equal(table.column(LINE), final))
        errors = [
            *errors,
            *(_wrong_count(*entry) for entry in pending if entry[0] != final),
            unterminated if text is None else unterminated.with_raw(text),
        ]
        yield from _sliced(_without_blank_rows(table), errors, batch_rows)
    elif pending:
        yield RawBatch(_empty_batch(names), [_wrong_count(*entry) for entry in pending])
    return final + 1


def _empty_batch(names: list[str]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [pa.array([], pa.string()) for _ in names[:-1]] + [pa.array([], pa.int64())], names=names
    )


def _wrong_count(number: int, expected: int, actual: int, text: str) -> RowError:
    return RowError(
        number, None, "WrongColumnCount", f"expected {expected} values as in the header, found {actual}"
    ).with_raw(text)


def _without_blank_rows(batch: pa.RecordBatch) -> pa.RecordBatch:
    names = [name for name in batch.schema.names if name != LINE and not is_cell(name)]
    if not names or batch.num_rows == 0:
        return batch
    blank = pc.equal(pc.utf8_length(batch.column(names[0])), 0)
    if not pc.any(blank).as_py():
        return batch
    for name in names[1:]:
        blank = pc.and_(blank, pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(batch.column(name))), 0))
    return batch.filter(pc.invert(blank))


def _sliced(batch: pa.RecordBatch, errors: list[RowError], batch_rows: int) -> Iterator[RawBatch]:
    if batch.num_rows <= batch_rows:
        yield RawBatch(batch, errors)
        return
    for offset in range(0, batch.num_rows, batch_rows):
        yield RawBatch(batch.slice(offset, batch_rows), errors if offset == 0 else [])


# --- XLSX --------------------------------------------------------------------------------------------


def _open_xlsx(path: Path, wanted: set[str], batch_rows: int) -> RawTable:
    sheet = open_first_sheet(path, wanted, batch_rows)
    index = _index_header(sheet.names)
    if not index:
        sheet.close()
        raise FileUnreadable("the first row of the sheet holds no column names", "NotATable")
    header = {lower: sheet.names[position] for lower, position in index.items()}
    read = sorted((lower, position) for lower, position in index.items() if lower in wanted)

    def with_read_columns(batch: pa.RecordBatch) -> pa.RecordBatch:
        columns = [batch.column(cell_name(position)) for _, position in read]
        return pa.RecordBatch.from_arrays(
            [*columns, *batch.columns], names=[*(lower for lower, _ in read), *batch.schema.names]
        )

    batches = (RawBatch(with_read_columns(batch)) for batch in sheet.batches if batch.num_rows)
    header_line = csv_row(sheet.names, ",")
    return RawTable(EXCEL, header, batches, sheet.close, header_line=header_line, delimiter=",")
