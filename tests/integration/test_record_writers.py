"""Writing imported records inside the caller's transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.domain import ProcessorType
from headwater.ingest.processors import processor_for
from headwater.ingest.processors.base import ProcessOptions
from headwater.runtime import Runtime
from headwater.store import records as record_store
from headwater.store.records import Owner as RecordOwner
from headwater.store.records import (
    WriteResult,
    count_records,
    delete_file_records,
    prepare_batch,
    write_batch,
)
from headwater.store.tables import (
    Company,
    PartnerSale,
    PartnerStock,
    Person,
    PhysicalLocation,
)
from tests.support.records import Owner, add_owner

SALES = ProcessorType.PARTNER_SALES
SALES_HEADER = "saleDate,transactionId,quantity,amount,partnerSkuCode,description2"


@pytest.fixture
async def owner(runtime: Runtime) -> Owner:
    async with runtime.db.session() as session:
        return await add_owner(session, ["/in/file0.csv", "/in/file1.csv"])


def _batches(tmp_path: Path, processor_type: int, lines: list[str], **options: object) -> list[pa.Table]:
    path = tmp_path / f"{uuid.uuid4().hex}.csv"
    path.write_text("\n".join(lines) + "\n")
    _, batches = processor_for(processor_type).read(path, ProcessOptions(**options))  # type: ignore[arg-type]
    return [batch.records for batch in batches]


async def _write(
    session: AsyncSession, processor_type: int, owner: Owner, file_index: int, tables: list[pa.Table]
) -> WriteResult:
    inserted = skipped = 0
    errors = []
    for table in tables:
        result = await write_batch(
            session, processor_type, owner.tenant_id, owner.source_id, owner.file_ids[file_index], table
        )
        inserted += result.inserted
        skipped += result.skipped
        errors.extend(result.errors)
    return WriteResult(inserted, skipped, errors)


async def test_new_sales_are_inserted_with_their_owner_and_line(
    runtime: Runtime, owner: Owner, tmp_path: Path
) -> None:
    tables = _batches(
        tmp_path, SALES, [SALES_HEADER, '2024-01-05,T1,3,2.5,S1,"big ""red"""', "2024-01-06,T2,1,0.1,S2,"]
    )
    async with runtime.db.session() as session:
        result = await _write(session, SALES, owner, 0, tables)
    assert result == WriteResult(2, 0, [])
    async with runtime.db.session() as session:
        sales = (await session.scalars(select(PartnerSale).order_by(PartnerSale.line))).all()
    first, second = sales
    assert (first.tenant_id, first.data_source_id, first.import_file_id, first.line) == (
        owner.tenant_id,
        owner.source_id,
        owner.file_ids[0],
        2,
    )
    assert (first.sale_date, first.transaction_id, first.sku, float(first.total)) == (
        date(2024, 1, 5),
        "T1",
        "S1",
        7.5,
    )
    assert first.descriptions == {"description2": 'big "red"'}
    assert (second.line, float(second.amount), second.descriptions, second.sku_code) == (3, 0.1, None, None)


async def test_a_column_empty_in_one_batch_and_filled_in_the_next_is_stored_as_written(
    runtime: Runtime, owner: Owner, tmp_path: Path
) -> None:
    lines = [SALES_HEADER, "2024-01-05,T1,1,1,S1,", "2024-01-05,T2,1,1,S1,", "2024-01-05,T3,1,1,S1,red"]
    tables = _batches(tmp_path, SALES, lines, batch_rows=2)
    empty = prepare_batch(SALES, tables[0], RecordOwner(owner.tenant_id, owner.source_id, 1), postgres=True)
    assert "descriptions" in empty.columns and "descriptions" not in empty.copy_columns
    async with runtime.db.session() as session:
        assert await _write(session, SALES, owner, 0, tables) == WriteResult(3)
    async with runtime.db.session() as session:
        sales = (await session.scalars(select(PartnerSale).order_by(PartnerSale.line))).all()
    assert [(sale.descriptions, sale.sku_code) for sale in sales] == [
        (None, None),
        (None, None),
        ({"description2": "red"}, None),
    ]


async def test_sales_another_file_already_imported_are_skipped(
    runtime: Runtime, owner: Owner, tmp_path: Path
) -> None:
    first = _batches(tmp_path, SALES, [SALES_HEADER, "2024-01-05,T1,1,1,S1,", "2024-01-05,T2,1,1,S1,"])
    second = _batches(
        tmp_path,
        SALES,
        [SALES_HEADER, "2024-01-05,T2,1,1,S1,", "2024-01-05,T3,1,1,S1,", "2024-01-05,T1,1,1,S2,"],
    )
    async with runtime.db.session() as session:
        assert await _write(session, SALES, owner, 0, first) == WriteResult(2)
        assert await _write(session, SALES, owner, 1, second) == WriteResult(2, 1, [])
        assert await count_records(session, owner.tenant_id, SALES, file_id=owner.file_ids[1]) == 2
        assert await count_records(session, owner.tenant_id, SALES, source_id=owner.source_id) == 4


async def test_a_sale_repeated_within_a_file_is_a_duplicate_transaction(
    runtime: Runtime, owner: Owner, tmp_path: Path
) -> None:
    lines = [SALES_HEADER, "2024-01-05,T1,1,1,S1,", "2024-01-05,T2,1,1,S1,", "2024-01-06,T1,9,9,S1,"]
    lines += [f"2024-01-05,T{i},1,1,S1," for i in range(3, 9)] + [
        "2024-01-05,T2,1,1,S1,",
        "2024-01-05,T9,1,1,S1,",
    ]
    # Batches of three rows: the repeat in line 4 is within the first batch, the one in line 11 is not.
    tables = _batches(tmp_path, SALES, lines, batch_rows=3)
    async with runtime.db.session() as session:
        result = await _write(session, SALES, owner, 0, tables)
        assert await count_records(session, owner.tenant_id, SALES) == 9
    assert result.inserted == 9 and result.skipped == 0
    assert [(e.line, e.column, e.code) for e in result.errors] == [
        (4, "transactionId", "DuplicateTransaction"),
        (11, "transactionId", "DuplicateTransaction"),
    ]
    assert "line 2" in result.errors[0].message and "line 3" in result.errors[1].message


async def test_the_first_of_repeated_sales_is_the_one_kept(
    runtime: Runtime, owner: Owner, tmp_path: Path
) -> None:
    tables = _batches(tmp_path, SALES, [SALES_HEADER, "2024-01-05,T1,1,1,S1,", "2024-01-05,T1,5,5,S1,"])
    async with runtime.db.session() as session:
        await _write(session, SALES, owner, 0, tables)
        sale = (await session.scalars(select(PartnerSale))).one()
    assert (sale.line, float(sale.quantity)) == (2, 1.0)


async def test_stock_upserts_on_date_and_sku(runtime: Runtime, owner: Owner, tmp_path: Path) -> None:
    header = "stockDate,quantity,partnerSkuCode"
    first = _batches(
        tmp_path,
        ProcessorType.PARTNER_STOCK,
        [header, "2024-01-05,1,S1", "2024-01-05,2,S2", "2024-01-05,3,S1"],
    )
    second = _batches(tmp_path, ProcessorType.PARTNER_STOCK, [header, "2024-01-05,7,S2", "2024-01-06,8,S2"])
    async with runtime.db.session() as session:
        assert await _write(session, ProcessorType.PARTNER_STOCK, owner, 0, first) == WriteResult(3)
        assert await _write(session, ProcessorType.PARTNER_STOCK, owner, 1, second) == WriteResult(2)
        stock = (
            await session.scalars(select(PartnerStock).order_by(PartnerStock.sku, PartnerStock.stock_date))
        ).all()
    assert [(s.sku, s.stock_date, float(s.quantity), s.import_file_id, s.line) for s in stock] == [
        ("S1", date(2024, 1, 5), 3.0, owner.file_ids[0], 4),
        ("S2", date(2024, 1, 5), 7.0, owner.file_ids[1], 2),
        ("S2", date(2024, 1, 6), 8.0, owner.file_ids[1], 3),
    ]


@pytest.mark.parametrize(
    ("processor_type", "table", "header", "key_of"),
    [
        (ProcessorType.PERSON, Person, "externalId,firstName", lambda r: (r.key, r.first_name)),
        (ProcessorType.COMPANY, Company, "externalId,name", lambda r: (r.key, r.name)),
        (ProcessorType.PHYSICAL_LOCATION, PhysicalLocation, "code,name", lambda r: (r.code, r.name)),
    ],
)
async def test_parties_and_locations_upsert_on_their_key(
    runtime: Runtime,
    owner: Owner,
    tmp_path: Path,
    processor_type: int,
    table: Any,
    header: str,
    key_of: Callable[[Any], tuple[str, str]],
) -> None:
    first = _batches(tmp_path, processor_type, [header, "K1,old", "K2,two", "K1,newer"])
    second = _batches(tmp_path, processor_type, [header, "K2,second file", "K3,three"])
    async with runtime.db.session() as session:
        assert await _write(session, processor_type, owner, 0, first) == WriteResult(3)
        assert await _write(session, processor_type, owner, 1, second) == WriteResult(2)
        rows = (await session.scalars(select(table).order_by(table.id))).all()
    assert sorted(key_of(row) for row in rows) == [("K1", "newer"), ("K2", "second file"), ("K3", "three")]


async def test_an_upsert_empties_what_the_replacing_row_leaves_empty(
    runtime: Runtime, owner: Owner, tmp_path: Path
) -> None:
    header = "stockDate,quantity,amount,expirationDate,partnerSkuCode"
    first = _batches(tmp_path, ProcessorType.PARTNER_STOCK, [header, "2024-01-05,1,4.5,2025-01-01,S1"])
    # Every row of the second file leaves amount and expirationDate empty.
    second = _batches(
        tmp_path, ProcessorType.PARTNER_STOCK, [header, "2024-01-05,2,,,S1", "2024-01-06,3,,,S1"]
    )
    async with runtime.db.session() as session:
        await _write(session, ProcessorType.PARTNER_STOCK, owner, 0, first)
        assert await _write(session, ProcessorType.PARTNER_STOCK, owner, 1, second) == WriteResult(2)
        stock = (await session.scalars(select(PartnerStock).order_by(PartnerStock.stock_date))).all()
    assert [(s.stock_date, float(s.quantity), s.amount, s.expiration_date, s.line) for s in stock] == [
        (date(2024, 1, 5), 2.0, None, None, 2),
        (date(2024, 1, 6), 3.0, None, None, 3),
    ]


async def test_a_batch_written_in_several_inserts_counts_and_finds_every_conflict(
    runtime: Runtime, owner: Owner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(record_store, "_ROWS_PER_INSERT", 2)  # SQLite: a statement per two rows
    earlier = _batches(tmp_path, SALES, [SALES_HEADER, "2024-01-05,T3,1,1,S1,", "2024-01-05,T6,1,1,S1,"])
    lines = [SALES_HEADER, *(f"2024-01-05,T{n},{n},1,S1," for n in range(1, 8)), "2024-01-05,T2,1,1,S1,"]
    tables = _batches(tmp_path, SALES, lines, batch_rows=4)
    async with runtime.db.session() as session:
        await _write(session, SALES, owner, 0, earlier)
        result = await _write(session, SALES, owner, 1, tables)
        sales = (
            await session.scalars(
                select(PartnerSale)
                .where(PartnerSale.import_file_id == owner.file_ids[1])
                .order_by(PartnerSale.id)
            )
        ).all()
    assert (result.inserted, result.skipped) == (5, 2)
    assert [(e.line, e.code) for e in result.errors] == [(9, "DuplicateTransaction")]
    assert "line 3" in result.errors[0].message
    assert [(s.transaction_id, float(s.quantity), s.line) for s in sales] == [
        ("T1", 1.0, 2),
        ("T2", 2.0, 3),
        ("T4", 4.0, 5),
        ("T5", 5.0, 6),
        ("T7", 7.0, 8),
    ]


async def test_principal_keys_upsert_persons(runtime: Runtime, owner: Owner, tmp_path: Path) -> None:
    lines = [
        "email,documentType,documentNumber,firstName",
        "a@example.com,,,A",
        ",DNI,7,B",
        "a@example.com,,,A2",
    ]
    tables = _batches(tmp_path, ProcessorType.PERSON, lines, file_import_type="PRINCIPAL")
    async with runtime.db.session() as session:
        await _write(session, ProcessorType.PERSON, owner, 0, tables)
        persons = (await session.scalars(select(Person).order_by(Person.key))).all()
    assert [(p.key, p.principal, p.first_name) for p in persons] == [
        ("DNI:7", "DNI:7", "B"),
        ("a@example.com", "a@example.com", "A2"),
    ]


async def test_deleting_a_files_records_leaves_other_files_alone(
    runtime: Runtime, owner: Owner, tmp_path: Path
) -> None:
    first = _batches(tmp_path, SALES, [SALES_HEADER, "2024-01-05,T1,1,1,S1,", "2024-01-05,T2,1,1,S1,"])
    second = _batches(tmp_path, SALES, [SALES_HEADER, "2024-01-05,T3,1,1,S1,"])
    async with runtime.db.session() as session:
        await _write(session, SALES, owner, 0, first)
        await _write(session, SALES, owner, 1, second)
    async with runtime.db.session() as session:
        assert await delete_file_records(session, owner.tenant_id, owner.file_ids[0]) == 2
        # Reprocessing: the file's new content goes in within the same transaction.
        again = _batches(tmp_path, SALES, [SALES_HEADER, "2024-01-05,T2,1,1,S1,", "2024-01-05,T3,1,1,S1,"])
        assert await _write(session, SALES, owner, 0, again) == WriteResult(1, 1, [])
    async with runtime.db.session() as session:
        assert await count_records(session, owner.tenant_id, SALES, file_id=owner.file_ids[0]) == 1
        assert await count_records(session, owner.tenant_id, SALES, file_id=owner.file_ids[1]) == 1


async def test_another_tenants_records_are_neither_counted_nor_deleted(
    runtime: Runtime, owner: Owner, tmp_path: Path
) -> None:
    tables = _batches(tmp_path, SALES, [SALES_HEADER, "2024-01-05,T1,1,1,S1,"])
    async with runtime.db.session() as session:
        other = await add_owner(session, ["/in/file0.csv"])
        await _write(session, SALES, owner, 0, tables)
        assert await count_records(session, other.tenant_id, SALES) == 0
        assert await delete_file_records(session, other.tenant_id, owner.file_ids[0]) == 0
        assert await count_records(session, owner.tenant_id, SALES) == 1


async def test_a_rolled_back_transaction_leaves_no_record(
    runtime: Runtime, owner: Owner, tmp_path: Path
) -> None:
    sales = _batches(
        tmp_path, SALES, [SALES_HEADER, "2024-01-05,T1,1,1,S1,", "2024-01-05,T1,1,1,S1,"], batch_rows=1
    )
    stock = _batches(
        tmp_path, ProcessorType.PARTNER_STOCK, ["stockDate,quantity,partnerSkuCode", "2024-01-05,1,S1"]
    )
    with pytest.raises(RuntimeError):
        async with runtime.db.session() as session:
            await _write(session, SALES, owner, 0, sales)
            await _write(session, ProcessorType.PARTNER_STOCK, owner, 0, stock)
            raise RuntimeError("the worker died mid-file")
    async with runtime.db.session() as session:
        assert await count_records(session, owner.tenant_id, SALES) == 0
        assert await count_records(session, owner.tenant_id, ProcessorType.PARTNER_STOCK) == 0
        # The staging tables went with the transaction; the next one starts clean.
        result = await _write(session, SALES, owner, 0, sales)
    assert (result.inserted, [e.code for e in result.errors]) == (1, ["DuplicateTransaction"])


async def test_an_empty_batch_writes_nothing(runtime: Runtime, owner: Owner, tmp_path: Path) -> None:
    tables = _batches(tmp_path, SALES, [SALES_HEADER])
    async with runtime.db.session() as session:
        assert await _write(session, SALES, owner, 0, tables) == WriteResult(0)
        assert await count_records(session, owner.tenant_id, SALES) == 0


def test_each_processor_names_its_record_table() -> None:
    assert [processor_for(t).record_table for t in ProcessorType] == [
        Person,
        Company,
        PhysicalLocation,
        PartnerSale,
        PartnerStock,
    ]
