"""On PostgreSQL an offset into a tenant's or a source's records starts from ``record_blocks``, the rows
each block of 16,384 ids holds, instead of counting every row before it. The counts follow every write
of records, and a page by offset is the page that counting every row gives."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from headwater import resources
from headwater.domain import FileOutcomeState
from headwater.ingest import uploads
from headwater.runtime import Runtime
from headwater.store import records as record_store
from headwater.store import resources as store
from headwater.store.tables import PartnerSale
from tests.support.records import add_tenant, block_counts, recounted_blocks, seed_sales
from tests.support.tenants import make_source, make_tenancy

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("database_url", ["postgres"], indirect=True)]

BLOCK = 16_384


async def _skip_ids(session: AsyncSession, count: int) -> None:
    """The next sale gets an id ``count`` further on, as if other tenants' rows had taken them."""
    await session.execute(
        text(
            "SELECT setval(pg_get_serial_sequence('partner_sales', 'id'),"
            " (SELECT last_value FROM partner_sales_id_seq) + :count)"
        ),
        {"count": count},
    )


async def _page_ids(
    session: AsyncSession, tenant_id: int, conditions: list[store.Condition], first_row: int, max_rows: int
) -> list[int]:
    rows = await store.fetch_page(
        session, tenant_id, PartnerSale, conditions, first_row=first_row, max_rows=max_rows, columns_only=True
    )
    return [row.id for row in rows]


async def test_an_offset_reads_the_page_counting_every_row_reads(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        tenant_id = await add_tenant(session, "acme")
        other_id = await add_tenant(session, "other")
        first = await seed_sales(session, tenant_id, 40, name="first")
        theirs = await seed_sales(session, other_id, 30, name="theirs")
        await _skip_ids(session, 3 * BLOCK + 100)
        second = await seed_sales(session, tenant_id, 25, name="second")
        await _skip_ids(session, BLOCK - 30)  # the next rows straddle a block's end
        third = await seed_sales(session, tenant_id, 60, name="third")
        mine = sorted(first.sale_ids + second.sale_ids + third.sale_ids)
        assert len({sale_id >> 14 for sale_id in mine}) >= 3
        assert await block_counts(session) == await recounted_blocks(session)

    async with runtime.db.session() as session:
        for first_row in [*range(0, len(mine) + 3), 10**9]:
            for max_rows in (1, 7, 1000):
                expected = mine[first_row : first_row + max_rows]
                assert await _page_ids(session, tenant_id, [], first_row, max_rows) == expected
        by_source = [store.Condition("data_source_id", "eq", third.source_id)]
        for first_row in range(0, 62):
            assert (
                await _page_ids(session, tenant_id, by_source, first_row, 5)
                == sorted(third.sale_ids)[first_row : first_row + 5]
            )
        # Another tenant's blocks and sources are none of this tenant's business.
        foreign = [store.Condition("data_source_id", "eq", theirs.source_id)]
        assert await _page_ids(session, tenant_id, foreign, 3, 10) == []
        assert await _page_ids(session, other_id, [], 3, 100) == sorted(theirs.sale_ids)[3:]

        # The JSON the database writes pages the same rows.
        partner_sales = resources.RESOURCES["partnerSales"]
        answered = await resources.list_json(
            session, tenant_id, partner_sales, [("firstRow", "50"), ("maxNumRows", "30")]
        )
        assert [row["id"] for row in _json(answered)] == mine[50:80]


def _json(page: bytes) -> list[dict[str, object]]:
    loaded: list[dict[str, object]] = json.loads(page)
    return loaded


def _sales(count: int, prefix: str) -> bytes:
    header = "saleDate,transactionId,quantity,amount,partnerSkuCode\n"
    return (header + "".join(f"2026-01-02,{prefix}{n},1,1,SKU-{n % 3}\n" for n in range(count))).encode()


async def test_the_counts_follow_imports_upserts_and_deletes(runtime: Runtime) -> None:
    tenancy = await make_tenancy(runtime)
    source = await make_source(runtime, tenancy)

    async def upload(name: str, data: bytes) -> int:
        outcome = await uploads.import_upload(
            runtime,
            tenancy.tenant_id,
            source_id=source.id,
            name=name,
            processor_type=25011,
            data=io.BytesIO(data),
            owner_partner_id=tenancy.partner_id,
        )
        assert outcome.state == FileOutcomeState.IMPORTED
        return outcome.id

    first_file = await upload("first.csv", _sales(500, "A"))  # a COPY straight into the table
    await upload("again.csv", _sales(700, "A"))  # 500 skipped as known, 200 added through staging
    async with runtime.db.session() as session:
        assert await block_counts(session) == await recounted_blocks(session)
        assert sum(row[4] for row in await block_counts(session)) == 700  # type: ignore[misc]

        await record_store.delete_file_records(session, tenancy.tenant_id, first_file)
        assert await block_counts(session) == await recounted_blocks(session)
        assert sum(row[4] for row in await block_counts(session)) == 200  # type: ignore[misc]

        # An upsert that updates rows counts only the rows it adds.
        upsert = text(
            "INSERT INTO partner_stock (tenant_id, data_source_id, import_file_id, line, stock_date, sku, quantity)"
            " SELECT :tenant, :source, :file, n, DATE '2026-01-01', 'S' || n, 1 FROM generate_series(1, :rows) n"
            " ON CONFLICT (data_source_id, stock_date, sku) DO UPDATE SET quantity = excluded.quantity + 1"
        )
        owner = {"tenant": tenancy.tenant_id, "source": source.id, "file": first_file}
        await session.execute(upsert, {**owner, "rows": 10})
        await session.execute(upsert, {**owner, "rows": 15})
        assert await block_counts(session, "partner_stock") == await recounted_blocks(
            session, "partner_stock"
        )
        assert {row[4] for row in await block_counts(session, "partner_stock")} == {15}

        await record_store.delete_source_records(session, tenancy.tenant_id, source.id)
        assert await block_counts(session) == set()  # blocks left empty go with their rows
        assert await block_counts(session, "partner_stock") == set()


async def test_a_truncated_record_table_takes_its_counts_with_it(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        tenant_id = await add_tenant(session, "acme")
        await seed_sales(session, tenant_id, 20)
        await session.execute(
            text(
                "INSERT INTO partner_stock (tenant_id, data_source_id, import_file_id, line, stock_date, sku, quantity)"
                " SELECT tenant_id, data_source_id, import_file_id, line, sale_date, sku, 1 FROM partner_sales"
            )
        )
        assert await block_counts(session) == await recounted_blocks(session) != set()

        await session.execute(text("TRUNCATE partner_sales"))
        assert await block_counts(session) == set()
        assert (
            await block_counts(session, "partner_stock")
            == await recounted_blocks(session, "partner_stock")
            != set()
        )
