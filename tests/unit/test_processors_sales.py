"""Partner sales (25011): mapping, totals, SKUs and each reason a row is rejected."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from headwater.domain import ProcessorType

from .processor_support import codes, read, write_csv

SALES = ProcessorType.PARTNER_SALES
HEADER = "saleDate,transactionId,quantity,amount,partnerSkuCode,currency,vendorId"


def test_a_good_row_becomes_a_sale_record(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [HEADER, "2024-01-05, T1 ,3,2.50,SKU1,EUR,V9"])
    _, records, errors = read(path, SALES)
    assert errors == []
    assert records == [
        {
            "sale_date": date(2024, 1, 5),
            "transaction_id": "T1",
            "quantity": 3.0,
            "amount": 2.5,
            "total": 7.5,
            "sku": "SKU1",
            "partner_sku_code": "SKU1",
            "sku_code_key": None,
            "sku_code": None,
            "currency": "EUR",
            "credential_principal": None,
            "sales_origin": None,
            "vendor_id": "V9",
            "descriptions": None,
            "line": 2,
        }
    ]


@pytest.mark.parametrize(("amount_calculated", "total"), [(True, 2.5), (False, 7.5)])
def test_amount_calculated_says_whether_the_amount_is_the_line_total(
    tmp_path: Path, amount_calculated: bool, total: float
) -> None:
    path = write_csv(tmp_path, [HEADER, "2024-01-05,T1,3,2.50,SKU1,EUR,V9"])
    _, records, _ = read(path, SALES, amount_calculated=amount_calculated)
    assert records[0]["total"] == total


def test_the_sku_is_the_key_and_code_when_no_partner_sku_is_given(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        [
            "saleDate,transactionId,quantity,amount,partnerSkuCode,skuCodeKey,skuCode",
            "2024-01-05,T1,1,1,,EAN,123",
            "2024-01-05,T2,1,1,P9,EAN,456",
            "2024-01-05,T3,1,1,,EAN,",
        ],
    )
    _, records, errors = read(path, SALES)
    assert [(r["transaction_id"], r["sku"]) for r in records] == [("T1", "EAN:123"), ("T2", "P9")]
    assert codes(errors) == [(4, "partnerSkuCode", "MissingValue")]


def test_key_and_code_columns_are_enough_without_partner_sku(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path, ["saleDate,transactionId,quantity,amount,skuCodeKey,skuCode", "2024-01-05,T1,1,1,EAN,1"]
    )
    _, records, errors = read(path, SALES)
    assert errors == []
    assert records[0]["sku"] == "EAN:1"


def test_each_bad_value_is_rejected_with_its_line_column_and_code(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        [
            HEADER,
            "2024-13-01,T1,1,1,S,EUR,V",
            "05/01/2024,T2,1,1,S,EUR,V",
            "2024-02-30,T3,1,1,S,EUR,V",
            "2024-01-05,T4,one,1,S,EUR,V",
            '2024-01-05,T5,1,"1.234,50",S,EUR,V',
            "2024-01-05,,1,1,S,EUR,V",
            "2024-01-05,T7,1,,S,EUR,V",
            ",T8,1,1,S,EUR,V",
            "2024-01-05,T9,nan,1,S,EUR,V",
            "2024-01-05,T10,2,1,S,EUR,V",
        ],
    )
    _, records, errors = read(path, SALES)
    assert [r["transaction_id"] for r in records] == ["T10"]
    assert codes(errors) == [
        (3 - 1, "saleDate", "InvalidDate"),
        (3, "saleDate", "InvalidDate"),
        (4, "saleDate", "InvalidDate"),
        (5, "quantity", "InvalidNumber"),
        (6, "amount", "InvalidNumber"),
        (7, "transactionId", "MissingValue"),
        (8, "amount", "MissingValue"),
        (9, "saleDate", "MissingValue"),
        (10, "quantity", "InvalidNumber"),
    ]
    assert "'2024-13-01'" in errors[0].message and "yyyy-MM-dd" in errors[0].message


def test_a_row_with_several_bad_values_gets_an_error_for_each(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [HEADER, "someday,T1,x,y,S,EUR,V"])
    _, records, errors = read(path, SALES)
    assert records == []
    assert sorted(codes(errors)) == [
        (2, "amount", "InvalidNumber"),
        (2, "quantity", "InvalidNumber"),
        (2, "saleDate", "InvalidDate"),
    ]


def test_a_decimal_comma_is_accepted_but_not_thousands_separators(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        [
            "saleDate;transactionId;quantity;amount;partnerSkuCode",
            "2024-01-05;T1;2;12,50;S",
            "2024-01-05;T2;1;1.234,50;S",
            "2024-01-05;T3;1;-,5;S",
        ],
    )
    _, records, errors = read(path, SALES)
    assert [(r["transaction_id"], r["amount"], r["total"]) for r in records] == [
        ("T1", 12.5, 25.0),
        ("T3", -0.5, -0.5),
    ]
    assert codes(errors) == [(3, "amount", "InvalidNumber")]


def test_descriptions_become_one_json_object_of_those_present(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        [
            "saleDate|transactionId|quantity|amount|partnerSkuCode|description1|description3|description10",
            '2024-01-05|T1|1|1|S|Red "big"|C:\\path|',
            "2024-01-05|T2|1|1|S|||",
        ],
        delimiter="\t",
    )
    path.write_text(path.read_text().replace("|", "\t"))
    _, records, errors = read(path, SALES)
    assert errors == []
    assert json.loads(records[0]["descriptions"]) == {"description1": 'Red "big"', "description3": "C:\\path"}
    assert records[1]["descriptions"] is None


def test_values_longer_than_the_column_are_rejected(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path, [HEADER, f"2024-01-05,{'T' * 201},1,1,S,EUR,V", "2024-01-05,T2,1,1e15,S,EUR,V"]
    )
    _, records, errors = read(path, SALES)
    assert records == []
    assert codes(errors) == [(2, "transactionId", "ValueTooLong"), (3, "amount", "NumberOutOfRange")]


def test_a_repeated_sale_within_a_file_is_left_to_the_writer(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [HEADER, "2024-01-05,T1,1,1,S,EUR,V", "2024-01-05,T1,1,1,S,EUR,V"])
    _, records, errors = read(path, SALES)
    assert errors == []
    assert len(records) == 2
