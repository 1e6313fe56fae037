"""A batch keeps each record key once before it is written: the first sale, the last upsert."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pyarrow as pa

from headwater.domain import ProcessorType
from headwater.store.records import prepare_batch


def _sales(rows: list[tuple[str, str, int]]) -> pa.Table:
    transactions, skus, lines = zip(*rows, strict=True)
    return pa.table(
        {
            "transaction_id": list(transactions),
            "sku": list(skus),
            "line": pa.array(lines, pa.int32()),
        }
    )


def test_a_repeated_sale_keeps_its_first_row_and_names_it_in_the_error() -> None:
    table = _sales([("T1", "A", 2), ("T1", "B", 3), ("T2", "A", 5), ("T1", "A", 7), ("T1", "B", 8)])
    prepared = prepare_batch(ProcessorType.PARTNER_SALES, table)
    assert prepared.staged["line"].to_pylist() == [2, 3, 5]
    assert [(error.line, error.code) for error in prepared.errors] == [
        (7, "DuplicateTransaction"),
        (8, "DuplicateTransaction"),
    ]
    assert "line 2 " in prepared.errors[0].message and "line 3 " in prepared.errors[1].message


def test_one_transaction_with_many_skus_is_no_repeat() -> None:
    table = _sales([("T1", f"S{n}", n + 2) for n in range(5)])
    prepared = prepare_batch(ProcessorType.PARTNER_SALES, table)
    assert prepared.staged.num_rows == 5 and prepared.errors == []


def test_stock_keeps_the_last_row_of_each_date_and_sku() -> None:
    day, other_day = date(2024, 1, 5), date(2024, 1, 6)
    table = pa.table(
        {
            "stock_date": pa.array([day, day, other_day, day], pa.date32()),
            "sku": ["A", "B", "A", "A"],
            "quantity": [1.0, 2.0, 3.0, 4.0],
            "line": pa.array([2, 3, 4, 5], pa.int32()),
        }
    )
    prepared = prepare_batch(ProcessorType.PARTNER_STOCK, table)
    assert sorted(prepared.staged["line"].to_pylist()) == [3, 4, 5]
    assert prepared.errors == []


def test_keeping_keys_once_does_not_load_arrows_query_engine() -> None:
    # Arrow's query engine (group_by, joins) costs about 20 MB in every importing process.
    script = (
        "import sys, pyarrow as pa\n"
        "from headwater.domain import ProcessorType\n"
        "from headwater.store.records import prepare_batch\n"
        "t = pa.table({'transaction_id': ['T1', 'T1'], 'sku': ['A', 'A'], 'line': pa.array([2, 3], pa.int32())})\n"
        "assert len(prepare_batch(ProcessorType.PARTNER_SALES, t).errors) == 1\n"
        "print('pyarrow.acero' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
