"""On SQLite an offset into a tenant's or a source's records starts from ``record_blocks`` too, kept by
the writer of the rows and a trigger on delete (``store.record_counts``). Rows written some other way,
and the rows of a file still importing, are counted row by row; every page is the page that counting
every row gives."""

from __future__ import annotations

import uuid
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.domain import ProcessorType
from headwater.ingest.processors import processor_for
from headwater.ingest.processors.base import ProcessOptions
from headwater.runtime import Runtime
from headwater.store import record_counts
from headwater.store import records as record_store
from headwater.store import resources as store
from headwater.store.tables import PartnerSale
from tests.support.records import (
    add_custom_source,
    add_import_file,
    add_tenant,
    block_counts,
    recounted_blocks,
    seed_sales,
)

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

BLOCK = record_counts.BLOCK
SALES = ProcessorType.PARTNER_SALES


async def _reach(session: AsyncSession, table: str = "partner_sales") -> int:
    found = await session.scalar(
        text("SELECT last_id FROM record_blocks_reach WHERE record_table = :table"), {"table": table}
    )
    assert found is not None
    return int(found)


async def _largest_id(session: AsyncSession, table: str = "partner_sales") -> int:
    return int(await session.scalar(text(f"SELECT coalesce(max(id), 0) FROM {table}")))


async def _take_ids_up_to(
    session: AsyncSession, tenant_id: int, source_id: int, file_id: int, last: int
) -> None:
    """A row written by hand with id ``last``: the next rows are numbered after it."""
    await session.execute(
        text(
            "INSERT INTO partner_sales (id, tenant_id, data_source_id, import_file_id, line, sale_date,"
            " transaction_id, quantity, amount, total, sku)"
            " VALUES (:id, :tenant, :source, :file, 2, '2026-01-01', :transaction, 1, 1, 1, 'X')"
        ),
        {
            "id": last,
            "tenant": tenant_id,
            "source": source_id,
            "file": file_id,
            "transaction": f"by-hand-{last}",
        },
    )


def _sales(tmp_path: Path, count: int, prefix: str) -> pa.Table:
    path = tmp_path / f"{uuid.uuid4().hex}.csv"
    lines = ["saleDate,transactionId,quantity,amount,partnerSkuCode"]
    lines += [f"2026-01-02,{prefix}{n},1,1,SKU-{n % 3}" for n in range(count)]
    path.write_text("\n".join(lines) + "\n")
    _, batches = processor_for(SALES).read(path, ProcessOptions())
    return pa.concat_tables([batch.records for batch in batches])


async def _file(
    session: AsyncSession, tenant_id: int, source_id: int, name: str, state: str = "imported"
) -> int:
    return await add_import_file(
        session, tenant_id, source_id, f"in/{name}", state=state, processor_type=SALES
    )


async def _imported(
    session: AsyncSession,
    tmp_path: Path,
    tenant_id: int,
    source_id: int,
    name: str,
    sales: int,
    *,
    importing: bool = False,
) -> int:
    """A file of ``sales`` new sales of the source, written as an import writes it (its rows pending
    while it is still ``importing``); the file's id."""
    file_id = await _file(session, tenant_id, source_id, name, "importing" if importing else "imported")
    rows = _sales(tmp_path, sales, PurePosixPath(name).stem)
    result = await record_store.write_batch(
        session, SALES, tenant_id, source_id, file_id, rows, pending=importing
    )
    assert result.inserted == rows.num_rows
    return file_id


async def _shown_ids(session: AsyncSession, tenant_id: int, source_id: int | None = None) -> list[int]:
    """The ids a page may show, found by reading every row."""
    found = await session.scalars(
        text(
            "SELECT id FROM partner_sales WHERE tenant_id = :tenant"
            " AND (:source IS NULL OR data_source_id = :source)"
            " AND import_file_id NOT IN"
            " (SELECT id FROM import_files WHERE tenant_id = :tenant AND state = 'importing')"
            " ORDER BY id"
        ),
        {"tenant": tenant_id, "source": source_id},
    )
    return list(found)


async def _page_ids(
    session: AsyncSession, tenant_id: int, conditions: list[store.Condition], first_row: int, max_rows: int
) -> list[int]:
    rows = await store.fetch_page_values(
        session, tenant_id, PartnerSale, conditions, first_row=first_row, max_rows=max_rows, columns=("id",)
    )
    return [row.id for row in rows]


async def _assert_every_page(session: AsyncSession, tenant_id: int, source_id: int | None = None) -> None:
    shown = await _shown_ids(session, tenant_id, source_id)
    conditions = [] if source_id is None else [store.Condition("data_source_id", "eq", source_id)]
    # Past the rows shown too: the counts hold the rows of files still importing.
    every = await session.scalar(
        text("SELECT count(*) FROM partner_sales WHERE tenant_id = :t"), {"t": tenant_id}
    )
    for first_row in [*range(0, every + 3), 10**9]:
        for max_rows in (1, 7, 1000):
            page = await _page_ids(session, tenant_id, conditions, first_row, max_rows)
            assert page == shown[first_row : first_row + max_rows], (first_row, max_rows)


async def test_the_rows_a_write_adds_are_counted_into_their_blocks(runtime: Runtime, tmp_path: Path) -> None:
    async with runtime.db.session() as session:
        tenant_id = await add_tenant(session, "acme")
        source_id = await add_custom_source(session, tenant_id, "shop", processor_type=SALES)
        first = await _imported(session, tmp_path, tenant_id, source_id, "first.csv", 40)
        # The next rows straddle a block's end.
        await _take_ids_up_to(session, tenant_id, source_id, first, 3 * BLOCK - 31)
        await _imported(session, tmp_path, tenant_id, source_id, "second.csv", 60)

        assert await block_counts(session, nonzero=True) == await recounted_blocks(session)
        assert {row[3] for row in await block_counts(session, nonzero=True)} == {0, 2 * BLOCK, 3 * BLOCK}
        assert await _reach(session) == await _largest_id(session)
        await _assert_every_page(session, tenant_id)
        await _assert_every_page(session, tenant_id, source_id)


async def test_rows_written_by_hand_are_counted_row_by_row_until_the_next_write(
    runtime: Runtime, tmp_path: Path
) -> None:
    async with runtime.db.session() as session:
        tenant_id = await add_tenant(session, "acme")
        other_id = await add_tenant(session, "other")
        source_id = await add_custom_source(session, tenant_id, "shop", processor_type=SALES)
        await _imported(session, tmp_path, tenant_id, source_id, "first.csv", 30)
        by_hand = await seed_sales(session, tenant_id, 25, name="by-hand")
        theirs = await seed_sales(session, other_id, 20, name="theirs")
        await _take_ids_up_to(session, tenant_id, by_hand.source_id, by_hand.file_id, BLOCK + 5)

        assert await _reach(session) < await _largest_id(session)
        await _assert_every_page(session, tenant_id)
        await _assert_every_page(session, tenant_id, by_hand.source_id)
        await _assert_every_page(session, other_id)

        await _imported(session, tmp_path, tenant_id, source_id, "second.csv", 10)
        assert await block_counts(session, nonzero=True) == await recounted_blocks(session)
        assert await _reach(session) == await _largest_id(session)
        await _assert_every_page(session, tenant_id)
        await _assert_every_page(session, other_id, theirs.source_id)


async def test_deleted_rows_leave_their_blocks_and_their_ids_given_out_again_are_not_trusted(
    runtime: Runtime, tmp_path: Path
) -> None:
    async with runtime.db.session() as session:
        tenant_id = await add_tenant(session, "acme")
        source_id = await add_custom_source(session, tenant_id, "shop", processor_type=SALES)
        await _imported(session, tmp_path, tenant_id, source_id, "first.csv", 50)
        newest = await _imported(session, tmp_path, tenant_id, source_id, "newest.csv", 30)

        await record_store.delete_file_records(session, tenant_id, newest)
        assert await block_counts(session, nonzero=True) == await recounted_blocks(session)
        assert await _reach(session) == await _largest_id(session) == 50

        # SQLite numbers these rows 51.. again, as the deleted ones were: they are not in the counts.
        await seed_sales(session, tenant_id, 12, name="by-hand")
        assert await _reach(session) == 50
        await _assert_every_page(session, tenant_id)

        await record_store.delete_source_records(session, tenant_id, source_id)
        await _assert_every_page(session, tenant_id)
        await record_counts.catch_up(await session.connection(), PartnerSale.__tablename__)
        assert await block_counts(session, nonzero=True) == await recounted_blocks(session)
        await _assert_every_page(session, tenant_id)


async def test_the_counts_from_a_file_still_importing_on_are_not_trusted(
    runtime: Runtime, tmp_path: Path
) -> None:
    async with runtime.db.session() as session:
        tenant_id = await add_tenant(session, "acme")
        source_id = await add_custom_source(session, tenant_id, "shop", processor_type=SALES)
        other_source = await add_custom_source(session, tenant_id, "other shop", processor_type=SALES)
        done = await _imported(session, tmp_path, tenant_id, source_id, "done.csv", 40)
        await _imported(session, tmp_path, tenant_id, other_source, "importing.csv", 30, importing=True)
        # The next file's rows lie in a later block.
        await _take_ids_up_to(session, tenant_id, source_id, done, BLOCK + 3)
        await _imported(session, tmp_path, tenant_id, source_id, "later.csv", 20)
        # The importing rows are counted too.
        assert await block_counts(session, nonzero=True) == await recounted_blocks(session)

        await _assert_every_page(session, tenant_id)
        await _assert_every_page(session, tenant_id, source_id)
        await _assert_every_page(session, tenant_id, other_source)

        # Counts that were wrong from the first importing row on would change no page.
        await session.execute(text("UPDATE record_blocks SET rows = rows + 1000"))
        await _assert_every_page(session, tenant_id)


async def test_a_page_by_offset_starts_from_the_counts(runtime: Runtime, tmp_path: Path) -> None:
    async with runtime.db.session() as session:
        tenant_id = await add_tenant(session, "acme")
        source_id = await add_custom_source(session, tenant_id, "shop", processor_type=SALES)
        first = await _imported(session, tmp_path, tenant_id, source_id, "first.csv", 10)
        await _take_ids_up_to(session, tenant_id, source_id, first, BLOCK - 1)
        await _imported(session, tmp_path, tenant_id, source_id, "second.csv", 10)
        shown = await _shown_ids(session, tenant_id)
        assert await _page_ids(session, tenant_id, [], 15, 3) == shown[15:18]

        # The first block is said to hold one row fewer: the page past it starts one row later.
        await session.execute(text("UPDATE record_blocks SET rows = rows - 1 WHERE first_id = 0"))
        assert await _page_ids(session, tenant_id, [], 15, 3) == shown[16:19]


async def test_an_upsert_counts_only_the_rows_it_adds(runtime: Runtime, tmp_path: Path) -> None:
    async with runtime.db.session() as session:
        tenant_id = await add_tenant(session, "acme")
        source_id = await add_custom_source(
            session, tenant_id, "stock", processor_type=ProcessorType.PARTNER_STOCK
        )
        for rows in (10, 15):
            file_id = await _file(session, tenant_id, source_id, f"stock-{rows}.csv")
            path = tmp_path / f"stock-{rows}.csv"
            lines = ["stockDate,partnerSkuCode,quantity"] + [f"2026-01-01,S{n},{rows}" for n in range(rows)]
            path.write_text("\n".join(lines) + "\n")
            _, batches = processor_for(ProcessorType.PARTNER_STOCK).read(path, ProcessOptions())
            for batch in batches:
                await record_store.write_batch(
                    session, ProcessorType.PARTNER_STOCK, tenant_id, source_id, file_id, batch.records
                )
        assert await block_counts(session, "partner_stock", nonzero=True) == await recounted_blocks(
            session, "partner_stock"
        )
        assert {row[4] for row in await block_counts(session, "partner_stock", nonzero=True)} == {15}
        assert await session.scalar(text("SELECT count(*) FROM partner_stock")) == 15


async def test_blocks_emptied_by_deletes_do_not_count_for_rows_written_by_hand_after_them(
    runtime: Runtime, tmp_path: Path
) -> None:
    async with runtime.db.session() as session:
        tenant_id = await add_tenant(session, "acme")
        source_id = await add_custom_source(session, tenant_id, "shop", processor_type=SALES)
        first = await _imported(session, tmp_path, tenant_id, source_id, "first.csv", 10)
        await _take_ids_up_to(session, tenant_id, source_id, first, 3 * BLOCK)
        await _imported(session, tmp_path, tenant_id, source_id, "newest.csv", 20)
        await session.execute(text("DELETE FROM partner_sales WHERE id >= :id"), {"id": 3 * BLOCK})
        assert await _reach(session) == 10  # block 3 is still listed, with no rows

        # Ids below and inside that block, written by hand: block 3's count would skip those below it.
        await _take_ids_up_to(session, tenant_id, source_id, first, 2 * BLOCK)
        await seed_sales(session, tenant_id, 25, name="by-hand")
        await _take_ids_up_to(session, tenant_id, source_id, first, 3 * BLOCK + 5)
        await _assert_every_page(session, tenant_id)
        await _assert_every_page(session, tenant_id, source_id)
