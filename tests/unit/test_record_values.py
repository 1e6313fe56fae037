"""What SQLite is sent for a batch of records: the values of the columns that hold any, flat."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from headwater.store import records


def test_the_rows_are_flat_and_columns_empty_in_every_row_are_left_out() -> None:
    table = pa.table(
        {
            "sale_date": pa.array([date(2024, 1, 5), date(2024, 1, 6), None], pa.date32()),
            "sku": ["S1", None, "S3"],
            "vendor_id": pa.array([None, None, None], pa.string()),
            "line": [2, 3, 4],
        }
    )
    values = records._sqlite_values(table, ["sale_date", "sku", "vendor_id", "line"])
    assert values.bound == ["sale_date", "sku", "line"]
    assert values.inserts == [("2024-01-05", "S1", 2, "2024-01-06", None, 3, None, "S3", 4)]


def test_the_rows_are_cut_into_as_many_inserts_as_the_parameter_limit_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(records, "_sqlite_parameter_limit", lambda: 4 + 2 * 3)  # three rows of two
    table = pa.table({"sku": [f"S{n}" for n in range(7)], "line": list(range(2, 9))})
    values = records._sqlite_values(table, ["sku", "line"])
    assert [len(inserted) // 2 for inserted in values.inserts] == [3, 3, 1]
    assert [value for inserted in values.inserts for value in inserted][-4:] == ["S5", 7, "S6", 8]


def test_an_insert_takes_at_least_one_row_and_at_most_its_share() -> None:
    assert records._rows_per_insert(1) == min(records._ROWS_PER_INSERT, records._sqlite_parameter_limit() - 4)
    assert 1 <= records._rows_per_insert(10**9)
