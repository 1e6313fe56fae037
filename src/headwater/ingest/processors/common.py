"""What the five processors share: reading, the record table's limits, SKU and party keys."""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import BigInteger, Numeric, SmallInteger, String

from headwater.domain import FileImportType
from headwater.errors import FileUnreadable
from headwater.ingest.processors.base import Batch, FileInfo, GrowingFile, ProcessOptions, ReadAhead
from headwater.ingest.processors.columns import DATE, Rows, check_columns, joined
from headwater.ingest.processors.reader import LINE, RawTable, open_table
from headwater.ingest.processors.rejected import with_row_texts
from headwater.store.tables import Base, BoundedDate

SKU_ALTERNATIVES = [("partnerSkuCode",), ("skuCodeKey", "skuCode")]


def camel(name: str) -> str:
    """The file's column name for a record column: ``partner_sku_code`` -> ``partnerSkuCode``."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


class TableProcessor:
    """Reads a file into batches of the record table's columns; subclasses say how to convert rows."""

    processor_type: ClassVar[int]
    record_table: ClassVar[type[Base]]
    columns: ClassVar[tuple[str, ...]]  # every column of the layout, as the design names them

    def read(
        self, path: Path, options: ProcessOptions, growing: GrowingFile | None = None
    ) -> tuple[FileInfo, Iterator[Batch]]:
        if growing is None:
            return self._read(path, options, None)
        try:
            info, batches = self._read(path, options, growing)
        except ReadAhead:
            raise
        except Exception as exc:  # decided again on the whole file
            raise ReadAhead(f"read as it arrived: {exc}") from exc
        return info, _read_ahead(batches)

    def _read(
        self, path: Path, options: ProcessOptions, growing: GrowingFile | None
    ) -> tuple[FileInfo, Iterator[Batch]]:
        table = open_table(path, self.columns, options.batch_rows, growing)
        try:
            self.check_columns(table, options)
        except BaseException:
            table.close()
            raise
        info = FileInfo(file_type=table.file_type, header_line=table.header_line, delimiter=table.delimiter)
        return info, self._batches(table, options)

    def _batches(self, table: RawTable, options: ProcessOptions) -> Iterator[Batch]:
        last_line = largest_integer(self.record_table.__table__.columns[LINE].type)
        for raw in table.batches:
            rows = Rows(raw)
            _check_line_numbers(rows, last_line)
            columns = self.convert(rows, options)
            self._check_limits(rows, columns)
            batch = rows.finish(columns)
            batch.cells, batch.delimiter = raw.columns, table.delimiter
            batch.errors = with_row_texts(batch.errors, batch.cells, batch.delimiter)
            yield batch

    def check_columns(self, table: RawTable, options: ProcessOptions) -> None:
        raise NotImplementedError

    def convert(self, rows: Rows, options: ProcessOptions) -> dict[str, Any]:
        """Typed columns named like the record table's; bad rows are rejected on ``rows``."""
        raise NotImplementedError

    def _check_limits(self, rows: Rows, columns: dict[str, Any]) -> None:
        """Reject values the record table cannot hold, rather than failing the file's transaction:
        the limits are the column types' (length, precision and scale, date bounds). A value already
        rejected for its column is not checked again; a derived column (a sale's total) is checked
        only on rows nothing else rejected."""
        for name, values in columns.items():
            column_type = self.record_table.__table__.columns[name].type
            column = camel(name)
            direct = rows.has(column)
            values = rows.unless_rejected(values, column) if direct else rows.unless_rejected(values)
            if values.null_count == rows.size:
                continue
            if isinstance(column_type, String) and column_type.length:
                _check_length(rows, column, values, column_type.length)
            elif isinstance(column_type, Numeric) and pa.types.is_floating(values.type):
                _check_magnitude(rows, column, values, column_type)
            elif isinstance(column_type, BoundedDate):
                _check_date(rows, column, values, column_type)


def _read_ahead(batches: Iterator[Batch]) -> Iterator[Batch]:
    """Batches of a file read as it arrived: whatever fails is decided again on the whole file."""
    try:
        yield from batches
    except ReadAhead:
        raise
    except Exception as exc:
        raise ReadAhead(f"read as it arrived: {exc}") from exc


def largest_integer(column_type: Any) -> int:
    """The largest whole number an integer column holds on PostgreSQL (SQLite holds 64 bits)."""
    if isinstance(column_type, BigInteger):
        return 2**63 - 1
    if isinstance(column_type, SmallInteger):
        return 2**15 - 1
    return 2**31 - 1


def _check_line_numbers(rows: Rows, last_line: int) -> None:
    """Records and row errors keep their line in an integer column: a file with more lines than it
    holds fails as a whole, rather than rolling back and being tried again forever."""
    largest = max([pc.max(rows.lines).as_py() or 0, *(error.line or 0 for error in rows.errors)])
    if largest > last_line:
        raise FileUnreadable(f"the file has more than {last_line:,} lines", "TooManyLines")


def _check_length(rows: Rows, column: str, values: Any, limit: int) -> None:
    # A value has at least as many bytes as characters: count characters only when bytes exceed.
    if pc.max(pc.binary_length(values)).as_py() <= limit:
        return
    rows.reject(
        pc.greater(pc.utf8_length(values), limit),
        column,
        "ValueTooLong",
        lambda _: f"{column} is longer than {limit} characters",
    )


def numeric_bound(column_type: Numeric) -> float:  # type: ignore[type-arg]
    """The smallest magnitude the column cannot hold: the database rounds a value to the column's
    scale first, so half a unit of the last decimal below ``10 ** (precision - scale)``."""
    if column_type.precision is None:
        return math.inf
    scale = column_type.scale or 0
    bound = Decimal(10) ** (column_type.precision - scale) - Decimal(5) * Decimal(10) ** -(scale + 1)
    return float(bound)


def _check_magnitude(rows: Rows, column: str, values: Any, column_type: Numeric) -> None:  # type: ignore[type-arg]
    bound = numeric_bound(column_type)
    scale = column_type.scale or 0
    # "less than the bound" is false for infinities and NaN too
    out_of_range = pc.invert(pc.less(pc.abs(values), bound))
    rows.reject(
        out_of_range,
        column,
        "NumberOutOfRange",
        lambda v: (
            f"{column} {'' if v is None else f'{v} '}is out of range: "
            f"at most {column_type.precision} digits, {scale} of them decimals"
        ),
    )


def _check_date(rows: Rows, column: str, values: Any, column_type: BoundedDate) -> None:
    earliest, latest = column_type.earliest, column_type.latest
    low, high = pa.scalar(earliest, DATE), pa.scalar(latest, DATE)
    # Compared as Arrow dates: a year 0 has no Python date.
    extremes = pc.min_max(values)
    if pc.greater_equal(extremes["min"], low).as_py() and pc.less_equal(extremes["max"], high).as_py():
        return
    rows.reject(
        pc.or_(pc.less(values, low), pc.greater(values, high)),
        column,
        "DateOutOfRange",
        lambda v: f"{column} {v} is outside {earliest.isoformat()}..{latest.isoformat()}",
    )


def descriptions(count: int) -> tuple[str, ...]:
    return tuple(f"description{i}" for i in range(1, count + 1))


def sku_columns(rows: Rows) -> dict[str, Any]:
    """The SKU is ``partnerSkuCode`` when given, else ``skuCodeKey:skuCode``."""
    partner = rows.text("partnerSkuCode")
    key = rows.text("skuCodeKey")
    code = rows.text("skuCode")
    sku = pc.coalesce(partner, joined(":", key, code))
    rows.require(sku, "partnerSkuCode", message="partnerSkuCode (or skuCodeKey and skuCode) is required")
    return {"sku": sku, "partner_sku_code": partner, "sku_code_key": key, "sku_code": code}


# A login principal is the first of these a row has: the principal itself, else these.
PRINCIPAL_ALTERNATIVES = [("principal",), ("email",), ("documentType", "documentNumber"), ("cellphone",)]


def party_key(rows: Rows, options: ProcessOptions, *fallbacks: str) -> dict[str, Any]:
    """``key`` is the externalId (PARTY) or the login principal (PRINCIPAL); a row without one is rejected."""
    external_id = rows.text("externalId")
    principal = pc.coalesce(
        rows.text("principal"),
        rows.text("email"),
        joined(":", rows.text("documentType"), rows.text("documentNumber")),
        rows.text("cellphone"),
        *(rows.text(name) for name in fallbacks),
    )
    if options.file_import_type == FileImportType.PRINCIPAL:
        key = principal
        rows.require(
            key,
            "principal",
            "MissingPrincipal",
            "no principal: the row needs principal, email, documentType + documentNumber or cellphone",
        )
    else:
        key = external_id
        rows.require(key, "externalId")
    return {"key": key, "external_id": external_id, "principal": principal}


def check_party_columns(table: RawTable, options: ProcessOptions, *fallbacks: str) -> None:
    """The PARTY layout needs externalId; PRINCIPAL needs a column a principal can come from."""
    if options.file_import_type == FileImportType.PRINCIPAL:
        check_columns(table, [], [[*PRINCIPAL_ALTERNATIVES, *((name,) for name in fallbacks)]])
    else:
        check_columns(table, ["externalId"])
