"""The text of rejected rows, so that a partner can fix them and send them again.

The reader keeps every column of the file, as strings, next to the columns a processor reads: these
"cells" are named ``CELL_PREFIX`` + position, a name no processor column can have. Only the rows
that end up rejected are turned back into text, so an import without errors pays for the extra
columns only.

A row is written back with CSV quoting in the file's delimiter (a value holding the delimiter, a
quote or a line break is quoted, quotes doubled): the values are exactly the file's, the quoting may
differ from the file's bytes (a value quoted without need comes back unquoted). A row with the wrong
number of values keeps the file's own text, as the CSV parser saw it. An XLSX row is its cells' texts,
comma-separated, up to the header's width.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable

import pyarrow as pa
import pyarrow.compute as pc

from headwater.domain import RowError

CELL_PREFIX = "\x00"
LINE = "line"


def cell_name(position: int) -> str:
    return f"{CELL_PREFIX}{position}"


def is_cell(name: str) -> bool:
    return name.startswith(CELL_PREFIX)


def csv_row(values: Iterable[str], delimiter: str) -> str:
    """One row of values as CSV text, without a line end."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(values)
    return out.getvalue()


def row_texts(cells: pa.RecordBatch, lines: Collection[int], delimiter: str) -> dict[int, str]:
    """Line number -> the row's text, for the rows of ``cells`` on ``lines``."""
    names = [name for name in cells.schema.names if is_cell(name)]
    if not names or not lines:
        return {}
    chosen = cells.filter(pc.is_in(cells.column(LINE), pa.array(sorted(lines), pa.int64())))
    numbers = chosen.column(LINE).to_pylist()
    columns = [chosen.column(name).to_pylist() for name in names]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="")
    texts: dict[int, str] = {}
    for index, number in enumerate(numbers):
        out.seek(0)
        out.truncate()
        writer.writerow([column[index] or "" for column in columns])
        texts[number] = out.getvalue()
    return texts


def with_row_texts(errors: list[RowError], cells: pa.RecordBatch | None, delimiter: str) -> list[RowError]:
    """``errors`` with the text of their row, where the row is among ``cells`` and has none yet."""
    if cells is None or not errors:
        return errors
    wanted = {error.line for error in errors if error.raw is None and error.line is not None}
    if not wanted:
        return errors
    texts = row_texts(cells, wanted, delimiter)
    return [
        error.with_raw(texts[error.line])
        if error.raw is None and error.line is not None and error.line in texts
        else error
        for error in errors
    ]
