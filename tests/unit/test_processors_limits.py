"""Every processor rejects, row by row, the values its record table cannot hold on either database:
dates outside the column's bounds, numbers beyond its precision, strings beyond its length, NUL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import Numeric

from headwater.domain import FileImportType, ProcessorType
from headwater.errors import FileUnreadable
from headwater.ingest.processors import processor_for
from headwater.ingest.processors.base import ProcessOptions
from headwater.ingest.processors.common import largest_integer, numeric_bound
from headwater.ingest.processors.reader import CSV, LINE, RawBatch, RawTable
from headwater.store.tables import PartnerSale, PhysicalLocation, RecordDate

from .processor_support import codes, read, write_csv

SALES = ProcessorType.PARTNER_SALES
STOCK = ProcessorType.PARTNER_STOCK
PERSON = ProcessorType.PERSON
COMPANY = ProcessorType.COMPANY
LOCATION = ProcessorType.PHYSICAL_LOCATION

# A NUL in the first 64 KB marks a file as binary; blank lines (skipped, but counted) push it past that.
PADDING = 70_000


def test_record_dates_are_bounded_by_the_column_type() -> None:
    assert (RecordDate.earliest, RecordDate.latest) == (date(1900, 1, 1), date(2199, 12, 31))
    assert PartnerSale.__table__.columns["sale_date"].type is RecordDate


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("0000-01-01", False),
        ("1899-12-31", False),
        ("1900-01-01", True),
        ("2199-12-31", True),
        ("2200-01-01", False),
        ("9999-12-31", False),
    ],
)
def test_a_sale_date_must_lie_within_1900_and_2199(tmp_path: Path, value: str, accepted: bool) -> None:
    path = write_csv(tmp_path, ["saleDate,transactionId,quantity,amount,partnerSkuCode", f"{value},T1,1,1,S"])
    _, records, errors = read(path, SALES)
    if accepted:
        assert errors == [] and records[0]["sale_date"] == date.fromisoformat(value)
    else:
        assert records == []
        assert codes(errors) == [(2, "saleDate", "DateOutOfRange")]
        assert value in errors[0].message and "1900-01-01..2199-12-31" in errors[0].message


def test_every_date_column_is_bounded(tmp_path: Path) -> None:
    stock = write_csv(
        tmp_path,
        [
            "stockDate,quantity,partnerSkuCode,expirationDate",
            "1899-12-31,1,S,2024-01-01",
            "2024-01-01,1,S,2200-01-01",
            "2024-01-01,1,S2,2199-12-31",
        ],
        name="stock.csv",
    )
    _, records, errors = read(stock, STOCK)
    assert [r["line"] for r in records] == [4]
    assert codes(errors) == [(2, "stockDate", "DateOutOfRange"), (3, "expirationDate", "DateOutOfRange")]

    persons = write_csv(
        tmp_path, ["externalId,birthDate", "P1,1899-12-31", "P2,1900-01-01"], name="persons.csv"
    )
    _, records, errors = read(persons, PERSON)
    assert [r["key"] for r in records] == ["P2"]
    assert codes(errors) == [(2, "birthDate", "DateOutOfRange")]


def test_a_stock_date_far_in_the_future_gets_one_error_not_two(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["stockDate,quantity,partnerSkuCode", "2200-01-01,1,S"])
    _, _, errors = read(path, STOCK)
    assert codes(errors) == [(2, "stockDate", "FutureStockDate")]


def test_the_number_bound_is_the_column_precision_less_half_a_unit_of_its_scale() -> None:
    assert numeric_bound(PartnerSale.__table__.columns["amount"].type) == 1e14
    assert numeric_bound(PhysicalLocation.__table__.columns["latitude"].type) == 999.99999995
    assert numeric_bound(Numeric(4, 2)) == 99.995
    assert numeric_bound(Numeric()) == float("inf")


def test_numbers_beyond_the_column_precision_are_rejected(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        [
            "saleDate,transactionId,quantity,amount,partnerSkuCode",
            "2024-01-05,T1,1,99999999999999.98,S",
            "2024-01-05,T2,1,-99999999999999.98,S",
            "2024-01-05,T3,1,100000000000000,S",
            "2024-01-05,T4,-1e14,1,S",
            "2024-01-05,T5,1,99999999999999.9999999,S",
            "2024-01-05,T6,1,1e400,S",
            "2024-01-05,T7,1e10,1e10,S",
            "2024-01-05,T8,1,0.0000001,S",
        ],
    )
    _, records, errors = read(path, SALES)
    assert [r["transaction_id"] for r in records] == ["T1", "T2", "T8"]
    assert codes(errors) == [
        (4, "amount", "NumberOutOfRange"),
        (5, "quantity", "NumberOutOfRange"),
        (6, "amount", "NumberOutOfRange"),
        (7, "amount", "NumberOutOfRange"),
        (8, "total", "NumberOutOfRange"),
    ]
    assert "at most 20 digits, 6 of them decimals" in errors[0].message


def test_values_holding_a_nul_character_are_rejected_in_every_column(tmp_path: Path) -> None:
    nul_line = 3 + PADDING
    path = write_csv(
        tmp_path,
        [
            "saleDate,transactionId,quantity,amount,partnerSkuCode,currency,description4",
            "2024-01-05,T1,1,1,S,EUR,fine",
            *[""] * PADDING,
            "2024-01-05,T2,1,1,S,E\x00R,fine",
            "2024-01-05,T3,1,1,S,EUR,bad\x00",
            "2024-01-05,T\x004,1\x00,1,S,EUR,",
        ],
    )
    _, records, errors = read(path, SALES)
    assert [r["transaction_id"] for r in records] == ["T1"]
    assert sorted(codes(errors)) == [
        (nul_line, "currency", "InvalidCharacter"),
        (nul_line + 1, "description4", "InvalidCharacter"),
        (nul_line + 2, "quantity", "InvalidCharacter"),
        (nul_line + 2, "quantity", "InvalidNumber"),
        (nul_line + 2, "transactionId", "InvalidCharacter"),
    ]
    assert all("\x00" not in error.message for error in errors), "messages are stored as text too"


@pytest.mark.parametrize(
    ("processor_type", "header", "row", "column"),
    [
        (STOCK, "stockDate,quantity,partnerSkuCode", "2024-01-01,1,S\x00", "partnerSkuCode"),
        (PERSON, "externalId,firstName", "P1,Ad\x00a", "firstName"),
        (COMPANY, "externalId,name", "C1,Acme\x00", "name"),
        (LOCATION, "code,city", "L1,Ma\x00drid", "city"),
    ],
)
def test_each_processor_rejects_a_nul_character(
    tmp_path: Path, processor_type: int, header: str, row: str, column: str
) -> None:
    path = write_csv(tmp_path, [header, *[""] * PADDING, row])
    _, records, errors = read(path, processor_type)
    assert records == []
    assert codes(errors) == [(2 + PADDING, column, "InvalidCharacter")]


@pytest.mark.parametrize(
    ("processor_type", "header", "row", "column", "options"),
    [
        (PERSON, "externalId,postalCode", f"P1,{'9' * 21}", "postalCode", {}),
        (COMPANY, "principal,taxId", f"C1,{'1' * 101}", "taxId", {"file_import_type": "PRINCIPAL"}),
        (LOCATION, "code,country", f"L1,{'é' * 101}", "country", {}),
        (STOCK, "stockDate,quantity,skuCodeKey,skuCode", f"2024-01-01,1,{'k' * 200},{'c' * 200}", "sku", {}),
    ],
)
def test_each_processor_rejects_a_value_longer_than_its_column(
    tmp_path: Path, processor_type: int, header: str, row: str, column: str, options: dict[str, str]
) -> None:
    path = write_csv(tmp_path, [header, row])
    _, records, errors = read(path, processor_type, **options)
    assert records == []
    assert codes(errors) == [(2, column, "ValueTooLong")]


def test_a_value_of_multibyte_characters_is_measured_in_characters(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["code,country", f"L1,{'é' * 100}"])
    _, records, errors = read(path, LOCATION)
    assert errors == [] and records[0]["country"] == "é" * 100


def test_principal_import_keys_stay_within_their_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["documentType,documentNumber", f"{'T' * 50},{'9' * 100}"])
    _, records, errors = read(path, PERSON, file_import_type=FileImportType.PRINCIPAL)
    assert errors == [] and records[0]["key"] == f"{'T' * 50}:{'9' * 100}"


def test_a_file_with_more_lines_than_the_line_column_holds_fails_as_a_whole() -> None:
    # No test writes a file of two billion lines: the reader's batch is made as it would number one.
    lines = pa.array([2**31 - 1, 2**31], pa.int64())
    values = pa.array(["L1", "L2"], pa.string())
    batch = RawBatch(pa.RecordBatch.from_arrays([values, lines], names=["code", LINE]))
    table = RawTable(CSV, {"code": "code"}, iter([batch]))
    processor = processor_for(LOCATION)
    assert largest_integer(PhysicalLocation.__table__.columns[LINE].type) == 2**31 - 1

    with pytest.raises(FileUnreadable) as raised:
        list(processor._batches(table, ProcessOptions()))
    assert raised.value.code == "TooManyLines"
