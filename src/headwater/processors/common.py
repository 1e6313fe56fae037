"""What the five processors share: reading, the record table's limits, SKU and party keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Numeric, String

from headwater.domain import FileImportType
from headwater.processors.base import Batch, FileInfo, ProcessOptions
from headwater.processors.columns import Rows, check_columns, joined
from headwater.processors.reader import RawTable, open_table
from headwater.store.tables import Base

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

    def read(self, path: Path, options: ProcessOptions) -> tuple[FileInfo, Iterator[Batch]]:
        table = open_table(path, self.columns, options.batch_rows)
        try:
            self.check_columns(table, options)
        except BaseException:
            table.close()
            raise
        return FileInfo(file_type=table.file_type), self._batches(table, options)

    def _batches(self, table: RawTable, options: ProcessOptions) -> Iterator[Batch]:
        for raw in table.batches:
            rows = Rows(raw)
            columns = self.convert(rows, options)
            self._check_limits(rows, columns)
            yield rows.finish(columns)

    def check_columns(self, table: RawTable, options: ProcessOptions) -> None:
        raise NotImplementedError

    def convert(self, rows: Rows, options: ProcessOptions) -> dict[str, Any]:
        """Typed columns named like the record table's; bad rows are rejected on ``rows``."""
        raise NotImplementedError

    def _check_limits(self, rows: Rows, columns: dict[str, Any]) -> None:
        """Reject values the record table cannot hold, rather than failing the file's transaction.
        A derived column (a sale's total) is checked only on rows nothing else rejected."""
        for name, values in columns.items():
            column_type = self.record_table.__table__.columns[name].type
            if not rows.has(camel(name)):
                values = rows.unless_rejected(values)
            if isinstance(column_type, String) and column_type.length and values.null_count < rows.size:
                too_long = pc.greater(pc.utf8_length(values), column_type.length)
                rows.reject(
                    too_long,
                    camel(name),
                    "ValueTooLong",
                    lambda _, n=name, limit=column_type.length: (
                        f"{camel(n)} is longer than {limit} characters"
                    ),
                )
            elif isinstance(column_type, Numeric) and pa.types.is_floating(values.type):
                limit = 10.0 ** ((column_type.precision or 38) - (column_type.scale or 0))
                too_large = pc.greater_equal(pc.abs(values), limit)
                rows.reject(
                    too_large,
                    camel(name),
                    "InvalidNumber",
                    lambda v, n=name, limit=limit: f"{camel(n)} {v} is out of range (below {limit:.0e})",
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
