"""Companies (25004), keyed by externalId (PARTY) or by their login principal (PRINCIPAL)."""

from __future__ import annotations

from typing import Any

from headwater.domain import ProcessorType
from headwater.ingest.processors.base import ProcessOptions
from headwater.ingest.processors.columns import Rows
from headwater.ingest.processors.common import TableProcessor, check_party_columns, party_key
from headwater.ingest.processors.reader import RawTable
from headwater.store.tables import Company

TEXT = ("name", "taxId", "email", "phone", "address", "city", "postalCode", "country")
# Beyond the person's principal sources, a company may be known by its phone.
PRINCIPAL_FALLBACKS = ("phone",)


class CompaniesProcessor(TableProcessor):
    processor_type = ProcessorType.COMPANY
    record_table = Company
    columns = ("externalId", "principal", "documentType", "documentNumber", "cellphone", *TEXT)

    def check_columns(self, table: RawTable, options: ProcessOptions) -> None:
        check_party_columns(table, options, *PRINCIPAL_FALLBACKS)

    def convert(self, rows: Rows, options: ProcessOptions) -> dict[str, Any]:
        return {
            **party_key(rows, options, *PRINCIPAL_FALLBACKS),
            "name": rows.text("name"),
            "tax_id": rows.text("taxId"),
            "email": rows.text("email"),
            "phone": rows.text("phone"),
            "address": rows.text("address"),
            "city": rows.text("city"),
            "postal_code": rows.text("postalCode"),
            "country": rows.text("country"),
        }
