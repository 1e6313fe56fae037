"""On PostgreSQL a file that fills a record table leaves it with planner statistics, without waiting on
anyone: a table is planned as nearly empty until it has them, and autovacuum gathers them only later."""

from __future__ import annotations

import io

import psycopg
import pytest
from sqlalchemy import text

from headwater.domain import FileOutcomeState
from headwater.ingest import uploads
from headwater.runtime import Runtime
from tests.support.tenants import Tenancy, make_source, make_tenancy

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("database_url", ["postgres"], indirect=True)]

HEADER = "saleDate,transactionId,quantity,amount,partnerSkuCode\n"


def sales(count: int, prefix: str) -> bytes:
    return (HEADER + "".join(f"2026-01-02,{prefix}{n},1,1,SKU-1\n" for n in range(count))).encode()


async def upload(
    runtime: Runtime, tenancy: Tenancy, source_id: int, name: str, data: bytes
) -> FileOutcomeState:
    outcome = await uploads.import_upload(
        runtime,
        tenancy.tenant_id,
        source_id=source_id,
        name=name,
        processor_type=25011,
        data=io.BytesIO(data),
        owner_partner_id=tenancy.partner_id,
    )
    return outcome.state


async def estimated_sales(runtime: Runtime) -> float:
    async with runtime.db.engine.connect() as connection:
        found = await connection.scalar(
            text("SELECT reltuples FROM pg_class WHERE relname = 'partner_sales'")
        )
    return float(found)


async def test_a_file_that_fills_a_fresh_table_leaves_it_analyzed(runtime: Runtime) -> None:
    tenancy = await make_tenancy(runtime)
    source = await make_source(runtime, tenancy)
    assert await estimated_sales(runtime) <= 0  # emptied and never analyzed since

    assert (
        await upload(runtime, tenancy, source.id, "small.csv", sales(100, "S")) == FileOutcomeState.IMPORTED
    )
    assert await estimated_sales(runtime) <= 0  # a hundred rows are not worth it

    assert (
        await upload(runtime, tenancy, source.id, "big.csv", sales(12_000, "B")) == FileOutcomeState.IMPORTED
    )
    assert await estimated_sales(runtime) == 12_100


async def test_a_table_locked_by_another_session_is_left_to_it_and_the_file_imports(
    runtime: Runtime, postgres_url: str
) -> None:
    tenancy = await make_tenancy(runtime)
    source = await make_source(runtime, tenancy)
    dsn = postgres_url.replace("postgresql+asyncpg", "postgresql")
    with psycopg.connect(dsn) as other:
        # What a running autovacuum or another ANALYZE holds: writes go on, a second ANALYZE waits.
        other.execute("LOCK TABLE partner_sales IN SHARE UPDATE EXCLUSIVE MODE")
        state = await upload(runtime, tenancy, source.id, "big.csv", sales(12_000, "L"))
        other.rollback()

    assert state == FileOutcomeState.IMPORTED
    assert await estimated_sales(runtime) <= 0
    async with runtime.db.session() as session:
        assert await session.scalar(text("SELECT count(*) FROM partner_sales")) == 12_000
