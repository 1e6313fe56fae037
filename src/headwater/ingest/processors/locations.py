"""Physical locations (25006), keyed by their code."""

from __future__ import annotations

from typing import Any

import pyarrow.compute as pc

from headwater.domain import ProcessorType
from headwater.ingest.processors.base import ProcessOptions
from headwater.ingest.processors.columns import Rows, check_columns
from headwater.ingest.processors.common import TableProcessor
from headwater.ingest.processors.reader import RawTable
from headwater.store.tables import PhysicalLocation

TEXT = ("name", "address", "city", "postalCode", "country", "companyCode")


class LocationsProcessor(TableProcessor):
    processor_type = ProcessorType.PHYSICAL_LOCATION
    record_table = PhysicalLocation
    columns = ("code", *TEXT, "latitude", "longitude")

    def check_columns(self, table: RawTable, options: ProcessOptions) -> None:
        check_columns(table, ["code"])

    def convert(self, rows: Rows, options: ProcessOptions) -> dict[str, Any]:
        return {
            "code": rows.required_text("code"),
            "name": rows.text("name"),
            "address": rows.text("address"),
            "city": rows.text("city"),
            "postal_code": rows.text("postalCode"),
            "country": rows.text("country"),
            "company_code": rows.text("companyCode"),
            "latitude": _coordinate(rows, "latitude", 90),
            "longitude": _coordinate(rows, "longitude", 180),
        }


def _coordinate(rows: Rows, name: str, bound: float) -> Any:
    values = rows.number(name)
    rows.reject(
        pc.greater(pc.abs(values), bound),
        name,
        "OutOfRange",
        lambda value: f"{name} {value} is outside -{bound}..{bound}",
    )
    return values
