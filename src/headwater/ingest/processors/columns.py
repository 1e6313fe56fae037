"""Columnar validation: turn a batch of string columns into typed columns and row errors.

Each check works on whole Arrow arrays; only the rows a check rejects are turned into Python
``RowError``s. Values are trimmed, and an empty value counts as missing.

Numbers accept ``.`` as the decimal separator, and ``,`` too when it is the only separator in the
value (``12,50`` is twelve and a half, as ``;``-separated European files write it); thousands
separators are refused (``1.234,50`` and ``1,234.50`` are ``InvalidNumber``). Numbers are carried as
float64, exact for up to 15 significant digits. Dates are ISO ``yyyy-MM-dd`` and must exist. A value
holding a NUL character is ``InvalidCharacter``: PostgreSQL cannot store it in text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from headwater.domain import RowError
from headwater.errors import FileUnreadable
from headwater.ingest.processors.base import Batch
from headwater.ingest.processors.reader import LINE, RawBatch, RawTable

_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_COMMA_DECIMAL = r"^[+-]?\d*,\d+$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_SHOWN = 60  # characters of a rejected value quoted in its error message

STRING = pa.string()
DATE = pa.date32()
NUMBER = pa.float64()


def check_columns(
    table: RawTable, required: Iterable[str], alternatives: Iterable[list[tuple[str, ...]]] = ()
) -> None:
    """Raise ``MissingColumn`` naming every required column the header lacks. Each entry of
    ``alternatives`` is satisfied by any one of its groups (a group's columns go together)."""
    missing = [name for name in required if not table.has(name)]
    for groups in alternatives:
        if not any(all(table.has(name) for name in group) for group in groups):
            missing.append(" or ".join(" + ".join(group) for group in groups))
    if missing:
        raise FileUnreadable(f"required columns missing: {', '.join(missing)}", "MissingColumn")


def _shown(value: Any) -> str:
    text = str(value)
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "...")


def _may_hold_nul(values: Any) -> bool:
    """False when no value of the string array holds a NUL. A search of the data buffer's bytes is
    a hundred times faster than Arrow's substring match, which then runs only when one is found."""
    data = values.buffers()[2]
    return data is not None and data.to_pybytes().find(b"\x00") >= 0


class Rows:
    """One batch under validation: typed columns are taken from it, rejected rows are collected."""

    def __init__(self, raw: RawBatch) -> None:
        self.raw = raw.columns
        self.size = raw.columns.num_rows
        self.lines = raw.columns.column(LINE)
        self.errors: list[RowError] = list(raw.errors)
        self._rejected: Any = None
        self._rejected_in: dict[str, Any] = {}  # column -> the rows rejected for a value of that column
        self._texts: dict[str, Any] = {}

    # --- reading columns -----------------------------------------------------------------------------

    def text(self, name: str) -> Any:
        """The trimmed column, empty values as nulls; all nulls when the file lacks the column.
        Rows whose value holds a NUL character are rejected."""
        key = name.lower()
        if key not in self._texts:
            if key in self.raw.schema.names:
                values = pc.utf8_trim_whitespace(self.raw.column(key))
                empty = pc.equal(pc.utf8_length(values), 0)
                if pc.any(empty).as_py():
                    values = pc.if_else(empty, pa.scalar(None, STRING), values)
                self._texts[key] = values
                if _may_hold_nul(self.raw.column(key)):
                    self.reject(
                        pc.match_substring(values, "\x00"),
                        name,
                        "InvalidCharacter",
                        lambda v: f"{name} {_shown(v)} holds a NUL character",
                    )
            else:
                self._texts[key] = pa.nulls(self.size, STRING)
        return self._texts[key]

    def required_text(self, name: str) -> Any:
        values = self.text(name)
        self.require(values, name)
        return values

    def require(self, values: Any, name: str, code: str = "MissingValue", message: str = "") -> None:
        if values.null_count:
            self.reject(pc.is_null(values), name, code, lambda _: message or f"{name} is required")

    def date(self, name: str, *, required: bool = False) -> Any:
        values = self.required_text(name) if required else self.text(name)
        if values.null_count == self.size:
            return pa.nulls(self.size, DATE)
        try:
            return pc.cast(values, DATE)
        except pa.ArrowInvalid:
            pass
        # Some value is not a date: find which (a date must survive a round trip unchanged).
        shaped = pc.match_substring_regex(values, _DATE)
        parsed = pc.strptime(values, format="%Y-%m-%d", unit="s", error_is_null=True)
        same = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), values)
        valid = pc.fill_null(pc.and_(shaped, same), False)
        invalid = pc.and_(pc.is_valid(values), pc.invert(valid))
        self.reject(invalid, name, "InvalidDate", lambda v: f"{name} {_shown(v)} is not a date (yyyy-MM-dd)")
        return pc.cast(pc.if_else(valid, values, pa.scalar(None, STRING)), DATE)

    def number(self, name: str, *, required: bool = False) -> Any:
        values = self.required_text(name) if required else self.text(name)
        if values.null_count == self.size:
            return pa.nulls(self.size, NUMBER)
        try:
            numbers = pc.cast(values, NUMBER)
        except pa.ArrowInvalid:
            numbers = None
        if numbers is not None and pc.all(pc.fill_null(pc.is_finite(numbers), True)).as_py():
            return numbers
        comma = pc.fill_null(pc.match_substring_regex(values, _COMMA_DECIMAL), False)
        normal = pc.if_else(comma, pc.replace_substring(values, ",", "."), values)
        valid = pc.fill_null(pc.match_substring_regex(normal, _NUMBER), False)
        invalid = pc.and_(pc.is_valid(values), pc.invert(valid))
        self.reject(invalid, name, "InvalidNumber", lambda v: f"{name} {_shown(v)} is not a number")
        return pc.cast(pc.if_else(valid, normal, pa.scalar(None, STRING)), NUMBER)

    def has(self, name: str) -> bool:
        return name.lower() in self.raw.schema.names

    def unless_rejected(self, values: Any, column: str | None = None) -> Any:
        """``values`` with the rows already rejected nulled out: those rejected for a value of
        ``column`` when given, else every rejected row."""
        rejected = self._rejected if column is None else self._rejected_in.get(column)
        if rejected is None:
            return values
        return pc.if_else(rejected, pa.scalar(None, values.type), values)

    # --- rejecting rows ------------------------------------------------------------------------------

    def reject(self, mask: Any, column: str | None, code: str, message: Any) -> None:
        """Reject the rows where ``mask`` is true; ``message(value)`` explains one of them."""
        mask = pc.fill_null(mask, False)
        if not pc.any(mask).as_py():
            return
        lines = pc.filter(self.lines, mask).to_pylist()
        source = self.text(column) if column and column.lower() in self.raw.schema.names else None
        values = pc.filter(source, mask).to_pylist() if source is not None else [None] * len(lines)
        self.errors.extend(
            RowError(line, column, code, message(value)) for line, value in zip(lines, values, strict=True)
        )
        self._rejected = mask if self._rejected is None else pc.or_(self._rejected, mask)
        if column is not None:
            earlier = self._rejected_in.get(column)
            self._rejected_in[column] = mask if earlier is None else pc.or_(earlier, mask)

    def finish(self, columns: dict[str, Any]) -> Batch:
        """The good rows with ``columns`` (plus ``line``), and every error sorted by line."""
        table = pa.table({**columns, LINE: self.lines})
        if self._rejected is not None:
            table = table.filter(pc.invert(self._rejected))
        self.errors.sort(key=lambda error: error.line or 0)
        return Batch(records=table, errors=self.errors)


def today_or(value: dt.date | None) -> dt.date:
    return value if value is not None else dt.datetime.now(dt.UTC).date()


def first_present(*arrays: Any) -> Any:
    """Row by row, the first non-null value of the arrays."""
    return pc.coalesce(*arrays)


def joined(separator: str, *arrays: Any) -> Any:
    """Row by row, the values joined with ``separator``; null when any of them is null."""
    return pc.binary_join_element_wise(*arrays, separator)


def descriptions_json(rows: Rows, names: list[str]) -> Any:
    """A JSON object of the description columns present in the row, or null when there are none.

    Built column-wise from escaped strings, so no Python loop runs over the rows."""
    pieces = []
    for name in names:
        values = rows.text(name)
        if values.null_count == rows.size:
            continue
        piece = pc.binary_join_element_wise(f'"{name}":"', _json_escaped(values), '",', "")
        pieces.append(pc.fill_null(piece, ""))
    if not pieces:
        return pa.nulls(rows.size, STRING)
    # Each piece ends with a comma; the last one is trimmed off (a piece always ends '",').
    body = pc.utf8_rtrim(pc.binary_join_element_wise(*pieces, ""), characters=",")
    present = pc.greater(pc.utf8_length(body), 0)
    return pc.if_else(present, pc.binary_join_element_wise("{", body, "}", ""), pa.scalar(None, STRING))


def _json_escaped(values: Any) -> Any:
    escaped = pc.replace_substring(values, "\\", "\\\\")
    escaped = pc.replace_substring(escaped, '"', '\\"')
    if pc.any(pc.match_substring_regex(escaped, r"[\x00-\x1f]")).as_py():
        for code in range(0x20):
            escaped = pc.replace_substring(escaped, chr(code), f"\\u{code:04x}")
    return escaped
