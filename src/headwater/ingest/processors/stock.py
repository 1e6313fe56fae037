"""Partner stock (25012): the quantity of a SKU on a day, never a day still to come."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from headwater.domain import ProcessorType
from headwater.ingest.processors.base import ProcessOptions
from headwater.ingest.processors.columns import Rows, check_columns, descriptions_json, today_or
from headwater.ingest.processors.common import SKU_ALTERNATIVES, TableProcessor, descriptions, sku_columns
from headwater.ingest.processors.reader import RawTable
from headwater.store.tables import PartnerStock

DESCRIPTIONS = descriptions(40)


class StockProcessor(TableProcessor):
    processor_type = ProcessorType.PARTNER_STOCK
    record_table = PartnerStock
    columns = (
        "stockDate",
        "quantity",
        "partnerSkuCode",
        "skuCodeKey",
        "skuCode",
        "amount",
        "expirationDate",
        *DESCRIPTIONS,
    )

    def check_columns(self, table: RawTable, options: ProcessOptions) -> None:
        check_columns(table, ["stockDate", "quantity"], [SKU_ALTERNATIVES])

    def convert(self, rows: Rows, options: ProcessOptions) -> dict[str, Any]:
        stock_date = rows.date("stockDate", required=True)
        today = today_or(options.today)
        rows.reject(
            pc.greater(stock_date, pa.scalar(today, pa.date32())),
            "stockDate",
            "FutureStockDate",
            lambda value: f"stockDate {value} is in the future (today is {today.isoformat()})",
        )
        return {
            "stock_date": stock_date,
            "quantity": rows.number("quantity", required=True),
            "amount": rows.number("amount"),
            "expiration_date": rows.date("expirationDate"),
            **sku_columns(rows),
            "descriptions": descriptions_json(rows, list(DESCRIPTIONS)),
        }
