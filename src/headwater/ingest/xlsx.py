"""Read the first sheet of an untrusted XLSX workbook in a contained child process.

A workbook is a zip of XML, and both can lie: a 1.6 KB file may declare a sheet of 17 billion cells
(a reader that builds the sheet's range in memory then asks for 512 GiB and aborts the process), and
a 5 MB one may inflate to gigabytes. So the importing process never parses a workbook itself. It
starts ``python -m headwater.ingest.xlsx`` with an address-space and CPU limit; the child checks the zip's
central directory and the sheet's declared dimension before reading anything, then streams the
sheet's rows one at a time (openpyxl's sheet parser: shared strings, inline strings, date formats)
and sends them back as an Arrow IPC stream of string columns, one per header column (named ``\x00`` and
its 0-based position, the reader's "cells"), plus ``line``, the sheet's row number. A row none of whose
``wanted`` columns holds a value is skipped, as a blank row.
Whatever happens in the child, a limit, a native abort, a crash, the worst case is that file's error.

Cells become strings the way a CSV would show them: dates ``yyyy-MM-dd``, whole numbers without
``.0``, booleans ``true``/``false``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from headwater.errors import FileUnreadable

LINE = "line"

# A workbook is refused unread (FileTooLarge) when its archive exceeds one of these.
MAX_ENTRIES = 10_000
MAX_UNCOMPRESSED = 1024 * 1024 * 1024  # bytes, all entries together, as the central directory declares
MAX_RATIO = 100  # uncompressed / compressed, for entries over RATIO_FLOOR (real sheets: about 10)
RATIO_FLOOR = 1024 * 1024
# A sheet wider or longer than this is SpreadsheetTooComplex, whether its <dimension> says so or its cells.
MAX_COLUMNS = 1_024
MAX_ROWS = 1_048_576  # Excel's own limit
# The child reading the workbook: beyond these it is stopped and the file is SpreadsheetTooComplex.
CHILD_ADDRESS_SPACE = 1024 * 1024 * 1024  # bytes; the interpreter, pyarrow and openpyxl take ~200 MB
CHILD_CPU_SECONDS = 1_800

_HEADER_KEY = b"headwater.header"
_FAILED = 3  # the child's exit status when it reports a FileUnreadable on stderr
_OUT_OF_MEMORY = 4
_ERROR_TAIL = 4096


@dataclass
class Sheet:
    """The sheet's header (names by position, 0-based) and its rows, as batches of every column."""

    names: list[str]
    batches: Iterator[pa.RecordBatch]
    close: Callable[[], None]


def open_first_sheet(path: Path, wanted: Collection[str], batch_rows: int) -> Sheet:
    """Start the child on ``path``; the columns read are the header's names, lower-cased, in ``wanted``.

    Raises ``FileUnreadable`` when the child refuses the workbook or dies before the header."""
    errors = tempfile.TemporaryFile()
    env = {**os.environ, "ARROW_DEFAULT_MEMORY_POOL": "system"}
    arguments = [str(path), str(batch_rows), json.dumps(sorted(wanted))]
    process = subprocess.Popen(
        [sys.executable, "-m", "headwater.ingest.xlsx", *arguments],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=errors,
        env=env,
    )
    assert process.stdout is not None
    stdout = process.stdout

    def close() -> None:
        if process.poll() is None:
            process.kill()
        process.wait()
        stdout.close()
        errors.close()

    try:
        stream = pa.ipc.open_stream(stdout)
    except (pa.ArrowInvalid, OSError) as exc:
        failure = _failure(process, errors)
        close()
        raise failure from exc
    except BaseException:
        close()
        raise
    names = json.loads((stream.schema.metadata or {}).get(_HEADER_KEY, b"[]"))
    return Sheet(names, _batches(stream, process, errors, close), close)


def _batches(
    stream: Any, process: subprocess.Popen[bytes], errors: IO[bytes], close: Callable[[], None]
) -> Iterator[pa.RecordBatch]:
    try:
        while True:
            try:
                batch = stream.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowInvalid, OSError) as exc:
                raise _failure(process, errors) from exc
            yield batch
        if process.wait() != 0:
            raise _failure(process, errors)
    finally:
        close()


def _failure(process: subprocess.Popen[bytes], errors: IO[bytes]) -> FileUnreadable:
    status = process.wait()
    if status == _FAILED:
        errors.seek(0, os.SEEK_END)
        errors.seek(max(0, errors.tell() - _ERROR_TAIL))
        last = errors.read().decode("utf-8", "replace").strip().splitlines()[-1:]
        try:
            reported = json.loads(last[0])
            return FileUnreadable(str(reported["message"]), str(reported["code"]))
        except (IndexError, ValueError, KeyError, TypeError):
            pass
    if status == _OUT_OF_MEMORY or status in (-signal.SIGABRT, -signal.SIGKILL, -signal.SIGSEGV):
        return FileUnreadable(
            f"reading the workbook needs more than {CHILD_ADDRESS_SPACE // 2**20} MB of memory",
            "SpreadsheetTooComplex",
        )
    if status == -signal.SIGXCPU:
        return FileUnreadable(
            f"reading the workbook takes more than {CHILD_CPU_SECONDS} s", "SpreadsheetTooComplex"
        )
    return FileUnreadable(f"the workbook reader stopped (status {status})", "InvalidFileFormat")


# --- the child ---------------------------------------------------------------------------------------


def check_archive(archive: zipfile.ZipFile) -> None:
    """Refuse, from the central directory alone, an archive that would inflate beyond the limits."""
    entries = archive.infolist()
    if len(entries) > MAX_ENTRIES:
        raise FileUnreadable(f"the workbook holds more than {MAX_ENTRIES} files", "FileTooLarge")
    total = sum(entry.file_size for entry in entries)
    if total > MAX_UNCOMPRESSED:
        raise FileUnreadable(
            f"the workbook inflates to {total} bytes, over the limit of {MAX_UNCOMPRESSED}", "FileTooLarge"
        )
    for entry in entries:
        if entry.file_size > RATIO_FLOOR and entry.file_size > MAX_RATIO * max(entry.compress_size, 1):
            raise FileUnreadable(
                f"{entry.filename} inflates {entry.file_size // max(entry.compress_size, 1)} times: "
                "a zip bomb, not a spreadsheet",
                "FileTooLarge",
            )


def check_dimension(ref: str | None) -> None:
    """Refuse a sheet whose ``<dimension ref>`` declares more rows or columns than the limits."""
    from openpyxl.utils.cell import range_boundaries  # type: ignore[import-untyped]

    if not ref:
        return
    try:
        _, _, max_column, max_row = range_boundaries(ref.upper())
    except (ValueError, TypeError):
        return  # an unreadable dimension is ignored, as Excel does; the cells are checked as read
    _check_extent(max_row, max_column)


def _check_extent(row: int | None, column: int | None) -> None:
    if (column or 0) > MAX_COLUMNS or (row or 0) > MAX_ROWS:
        raise FileUnreadable(
            f"the sheet reaches row {row} and column {column}; at most {MAX_ROWS} rows and "
            f"{MAX_COLUMNS} columns are read",
            "SpreadsheetTooComplex",
        )


def _declared_dimension(archive: zipfile.ZipFile, sheet_path: str) -> str | None:
    """The sheet's ``<dimension ref>``, read from the XML's start without parsing the cells."""
    from xml.etree.ElementTree import iterparse

    with archive.open(sheet_path) as source:
        for _, element in iterparse(source, events=("start",)):
            name = element.tag.rsplit("}", 1)[-1]
            if name == "dimension":
                ref: str | None = element.get("ref")
                return ref
            if name == "sheetData":
                return None
    return None


def _export(path: Path, wanted: set[str], batch_rows: int, out: IO[bytes]) -> None:
    from openpyxl.reader.excel import ExcelReader  # type: ignore[import-untyped]
    from openpyxl.styles.stylesheet import apply_stylesheet  # type: ignore[import-untyped]
    from openpyxl.worksheet._reader import WorkSheetParser  # type: ignore[import-untyped]

    with path.open("rb") as handle:
        with zipfile.ZipFile(handle) as archive:
            check_archive(archive)
        handle.seek(0)
        reader = ExcelReader(handle, read_only=True, data_only=True, keep_links=False)
        reader.read_manifest()
        reader.read_workbook()
        sheet_path = next(
            (
                rel.target
                for _, rel in reader.parser.find_sheets()
                if rel.target in reader.valid_files and "chartsheet" not in rel.Type
            ),
            None,
        )
        if sheet_path is None:
            raise FileUnreadable("the workbook has no sheet", "EmptyFile")
        check_dimension(_declared_dimension(reader.archive, sheet_path))
        reader.read_strings()
        apply_stylesheet(reader.archive, reader.wb)
        workbook = reader.wb
        with reader.archive.open(sheet_path) as source:
            parser = _sheet_parser(WorkSheetParser)(
                source,
                reader.shared_strings,
                data_only=True,
                epoch=workbook.epoch,
                date_formats=workbook._date_formats,
                timedelta_formats=workbook._timedelta_formats,
            )
            _stream_rows(parser.parse(), wanted, batch_rows, out)


def _sheet_parser(base: type) -> type:
    """openpyxl's sheet parser, reading inline strings as plain text: its rich-text objects for them
    took 60% of the time of a sheet of inline strings."""
    from openpyxl.utils.cell import coordinate_to_tuple

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    inline, text, run = f"{main}is", f"{main}t", f"{main}r"

    class Parser(base):  # type: ignore[misc]
        def parse_cell(self, element: Any) -> dict[str, Any]:
            if element.get("t") != "inlineStr":
                return super().parse_cell(element)  # type: ignore[no-any-return]
            coordinate = element.get("r")
            if coordinate:
                row, column = coordinate_to_tuple(coordinate)
                self.col_counter = column
            else:
                self.col_counter += 1
                row, column = self.row_counter, self.col_counter
            string = element.find(inline)
            value = None
            if string is not None:
                plain = string.find(text)
                if plain is not None:
                    value = plain.text or ""
                else:  # rich text: the runs' texts, one after the other
                    value = "".join(piece.findtext(text) or "" for piece in string.iter(run))
            return {"row": row, "column": column, "value": value, "data_type": "s", "style_id": 0}

    return Parser


def _stream_rows(
    rows: Iterator[tuple[int, list[dict[str, Any]]]], wanted: set[str], batch_rows: int, out: IO[bytes]
) -> None:
    names: list[str] | None = None
    for line, cells in rows:
        _check_row(line, cells)
        if any(cell["value"] not in (None, "") for cell in cells):
            widest = max(cell["column"] for cell in cells)
            _check_extent(line, widest)
            names = [""] * widest
            for cell in cells:
                names[cell["column"] - 1] = cell_text(cell["value"]).strip()
            break
    if names is None:
        raise FileUnreadable("the first sheet of the workbook is empty", "EmptyFile")
    positions: dict[str, int] = {}
    for position, name in enumerate(names):
        if name:
            positions.setdefault(name.lower(), position + 1)
    read = [column - 1 for lower, column in positions.items() if lower in wanted]
    width = len(names)
    schema = pa.schema(
        [pa.field(f"\x00{position}", pa.string()) for position in range(width)]
        + [pa.field(LINE, pa.int64())],
        metadata={_HEADER_KEY: json.dumps(names).encode()},
    )
    with pa.ipc.new_stream(out, schema) as writer:
        # An empty batch first: the importer checks the header while the rows are being read.
        writer.write_batch(_batch(schema, [[] for _ in range(width)], []))
        out.flush()
        columns: list[list[str]] = [[] for _ in range(width)]
        lines: list[int] = []
        for line, cells in rows:
            _check_row(line, cells)
            values = [""] * width
            for cell in cells:
                if cell["column"] <= width:
                    values[cell["column"] - 1] = cell_text(cell["value"])
            if not any(values[position].strip() for position in read):
                continue
            for column, value in zip(columns, values, strict=True):
                column.append(value)
            lines.append(line)
            if len(lines) >= batch_rows:
                writer.write_batch(_batch(schema, columns, lines))
                columns, lines = [[] for _ in range(width)], []
        if lines:
            writer.write_batch(_batch(schema, columns, lines))


def _check_row(line: int, cells: list[dict[str, Any]]) -> None:
    if line > MAX_ROWS or (cells and cells[-1]["column"] > MAX_COLUMNS):
        _check_extent(line, max(cell["column"] for cell in cells) if cells else None)


def _batch(schema: pa.Schema, columns: list[list[str]], lines: list[int]) -> pa.RecordBatch:
    arrays = [pa.array(column, pa.string()) for column in columns]
    return pa.RecordBatch.from_arrays([*arrays, pa.array(lines, pa.int64())], schema=schema)


def cell_text(value: Any) -> str:
    convert = _CELL_TEXT.get(type(value))
    return convert(value) if convert else str(value)


def _float_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _datetime_text(value: dt.datetime) -> str:
    return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")


_CELL_TEXT: dict[type, Callable[[Any], str]] = {
    str: lambda value: value,
    type(None): lambda _: "",
    bool: lambda value: "true" if value else "false",
    int: str,
    float: _float_text,
    dt.date: lambda value: value.isoformat(),
    dt.datetime: _datetime_text,
    dt.time: lambda value: value.isoformat(),
}


def _limit_resources() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE, CHILD_ADDRESS_SPACE))
    resource.setrlimit(resource.RLIMIT_CPU, (CHILD_CPU_SECONDS, CHILD_CPU_SECONDS + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(argv: list[str]) -> int:
    """The child: ``python -m headwater.ingest.xlsx PATH BATCH_ROWS WANTED_JSON``; rows go to stdout."""
    import warnings

    _limit_resources()
    warnings.simplefilter("ignore")  # openpyxl warns about styles and odd values it reads anyway
    pa.set_memory_pool(pa.system_memory_pool())
    out = sys.stdout.buffer
    try:
        path, batch_rows, wanted = Path(argv[0]), int(argv[1]), set(json.loads(argv[2]))
        _export(path, wanted, batch_rows, out)
        out.flush()
    except MemoryError:
        os._exit(_OUT_OF_MEMORY)  # nothing may be allocated to report it
    except BrokenPipeError:
        os._exit(0)  # the importer gave the file up
    except FileUnreadable as exc:
        _report(exc.code, exc.message)
        return _FAILED
    except Exception as exc:  # openpyxl, zipfile and expat raise many kinds for a broken workbook
        _report("InvalidFileFormat", f"the file is not a readable XLSX workbook: {type(exc).__name__}: {exc}")
        return _FAILED
    return 0


def _report(code: str, message: str) -> None:
    sys.stderr.write("\n" + json.dumps({"code": code, "message": message[:1000]}) + "\n")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
