"""Persons (25000), keyed by externalId (PARTY) or by their login principal (PRINCIPAL)."""

from __future__ import annotations

from typing import Any

from headwater.domain import ProcessorType
from headwater.ingest.processors.base import ProcessOptions
from headwater.ingest.processors.columns import Rows
from headwater.ingest.processors.common import TableProcessor, check_party_columns, party_key
from headwater.ingest.processors.reader import RawTable
from headwater.store.tables import Person

TEXT = (
    "firstName",
    "lastName",
    "email",
    "cellphone",
    "documentType",
    "documentNumber",
    "gender",
    "address",
    "city",
    "postalCode",
    "country",
)


class PersonsProcessor(TableProcessor):
    processor_type = ProcessorType.PERSON
    record_table = Person
    columns = ("externalId", "principal", *TEXT, "birthDate")

    def check_columns(self, table: RawTable, options: ProcessOptions) -> None:
        check_party_columns(table, options)

    def convert(self, rows: Rows, options: ProcessOptions) -> dict[str, Any]:
        return {
            **party_key(rows, options),
            "first_name": rows.text("firstName"),
            "last_name": rows.text("lastName"),
            "email": rows.text("email"),
            "cellphone": rows.text("cellphone"),
            "document_type": rows.text("documentType"),
            "document_number": rows.text("documentNumber"),
            "birth_date": rows.date("birthDate"),
            "gender": rows.text("gender"),
            "address": rows.text("address"),
            "city": rows.text("city"),
            "postal_code": rows.text("postalCode"),
            "country": rows.text("country"),
        }
