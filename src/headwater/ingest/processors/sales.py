"""Partner sales (25011): one row per sold SKU of a transaction."""

from __future__ import annotations

from typing import Any

import pyarrow.compute as pc

from headwater.domain import ProcessorType
from headwater.ingest.processors.base import ProcessOptions
from headwater.ingest.processors.columns import Rows, check_columns, descriptions_json
from headwater.ingest.processors.common import SKU_ALTERNATIVES, TableProcessor, descriptions, sku_columns
from headwater.ingest.processors.reader import RawTable
from headwater.store.tables import PartnerSale

DESCRIPTIONS = descriptions(10)
TEXT = ("currency", "credentialPrincipal", "salesOrigin", "vendorId")


class SalesProcessor(TableProcessor):
    processor_type = ProcessorType.PARTNER_SALES
    record_table = PartnerSale
    columns = (
        "saleDate",
        "transactionId",
        "quantity",
        "amount",
        "partnerSkuCode",
        "skuCodeKey",
        "skuCode",
        *TEXT,
        *DESCRIPTIONS,
    )

    def check_columns(self, table: RawTable, options: ProcessOptions) -> None:
        check_columns(table, ["saleDate", "transactionId", "quantity", "amount"], [SKU_ALTERNATIVES])

    def convert(self, rows: Rows, options: ProcessOptions) -> dict[str, Any]:
        quantity = rows.number("quantity", required=True)
        amount = rows.number("amount", required=True)
        # amountCalculated: the file's amount is already the line total, else it is the unit price.
        total = amount if options.amount_calculated else pc.multiply(amount, quantity)
        return {
            "sale_date": rows.date("saleDate", required=True),
            "transaction_id": rows.required_text("transactionId"),
            "quantity": quantity,
            "amount": amount,
            "total": total,
            **sku_columns(rows),
            "currency": rows.text("currency"),
            "credential_principal": rows.text("credentialPrincipal"),
            "sales_origin": rows.text("salesOrigin"),
            "vendor_id": rows.text("vendorId"),
            "descriptions": descriptions_json(rows, list(DESCRIPTIONS)),
        }
