"""Partner stock (25012)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from headwater.domain import ProcessorType

from .processor_support import TODAY, codes, read, write_csv

STOCK = ProcessorType.PARTNER_STOCK


def test_a_good_row_becomes_a_stock_record(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        [
            "stockDate,quantity,skuCodeKey,skuCode,amount,expirationDate,description40",
            f"{TODAY.isoformat()},12,EAN,789,3.5,2025-01-31,last one",
        ],
    )
    _, records, errors = read(path, STOCK)
    assert errors == []
    record = records[0]
    assert (record["stock_date"], record["quantity"], record["sku"], record["amount"]) == (
        TODAY,
        12.0,
        "EAN:789",
        3.5,
    )
    assert record["expiration_date"] == date(2025, 1, 31)
    assert record["descriptions"] == '{"description40":"last one"}'


def test_a_stock_date_in_the_future_is_rejected(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["stockDate,quantity,partnerSkuCode", "2024-07-01,1,S", "2024-06-30,1,S"])
    _, records, errors = read(path, STOCK)
    assert [r["line"] for r in records] == [3]
    assert codes(errors) == [(2, "stockDate", "FutureStockDate")]


def test_bad_optional_values_are_rejected_and_missing_ones_are_fine(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        [
            "stockDate,quantity,partnerSkuCode,amount,expirationDate",
            "2024-06-01,1,S,,",
            "2024-06-01,1,S,abc,",
            "2024-06-01,1,S,,31-12-2024",
            "2024-06-01,,S,,",
        ],
    )
    _, records, errors = read(path, STOCK)
    assert [(r["line"], r["amount"], r["expiration_date"]) for r in records] == [(2, None, None)]
    assert codes(errors) == [
        (3, "amount", "InvalidNumber"),
        (4, "expirationDate", "InvalidDate"),
        (5, "quantity", "MissingValue"),
    ]


def test_stock_without_today_uses_the_current_date(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["stockDate,quantity,partnerSkuCode", "2000-01-01,1,S", "2999-01-01,1,S"])
    _, records, errors = read(path, STOCK, today=None)
    assert [r["line"] for r in records] == [2]
    assert codes(errors) == [(3, "stockDate", "FutureStockDate")]
