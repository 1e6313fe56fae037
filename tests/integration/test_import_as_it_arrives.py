"""A pulled file imported while it downloads (PostgreSQL) ends as if it had been read whole.

Files whose later part contradicts what their first part suggested (not UTF-8, a quote never closed)
are read again once they have arrived; on SQLite every file is read whole, the same results.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from headwater.ingest.connectors.memory import MemoryServer
from headwater.ingest.imports import RunSummary, run_source
from headwater.runtime import Runtime
from headwater.store.tables import DataSource, ImportErrorRow, ImportFile, PartnerSale
from tests.support.tenants import make_source, make_tenancy

HEADER = "saleDate,transactionId,quantity,amount,partnerSkuCode\n"
# Several reader blocks and many download chunks, so that rows are read before the file has arrived.
ROWS = 120_000


def many_rows(count: int = ROWS) -> str:
    return "".join(f"2026-01-02,T{i:07d},1,2.5,SKU-{i % 97}\n" for i in range(count))


async def run_once(runtime: Runtime, source: DataSource, server: MemoryServer) -> RunSummary:
    return await run_source(runtime, source.tenant_id, source.id, connect=server.connector_for)


async def sales_count(runtime: Runtime) -> int:
    async with runtime.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(PartnerSale)) or 0)


async def test_a_large_file_is_imported_once_with_its_checksum_size_and_every_row(runtime: Runtime) -> None:
    tenancy = await make_tenancy(runtime)
    data = (HEADER + many_rows()).encode()
    server = MemoryServer()
    server.put("in/sales.csv", data)
    source = await make_source(runtime, tenancy)

    first = await run_once(runtime, source, server)
    again = await run_once(runtime, source, server)

    assert [(f.state, f.rows, f.rows_ok) for f in first.files] == [("imported", ROWS, ROWS)]
    assert [f.state for f in again.files] == ["skipped"]
    assert await sales_count(runtime) == ROWS
    async with runtime.db.session() as session:
        stored = await session.scalar(select(ImportFile))
        last = await session.scalar(select(PartnerSale).order_by(PartnerSale.line.desc()).limit(1))
    assert stored is not None
    assert (stored.checksum, stored.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert last is not None and (last.transaction_id, last.line) == (f"T{ROWS - 1:07d}", ROWS + 1)


async def test_a_windows_1252_byte_late_in_the_file_has_it_read_again_whole(runtime: Runtime) -> None:
    tenancy = await make_tenancy(runtime)
    data = (HEADER + many_rows()).encode() + "2026-01-02,TLAST,1,1,Caf\u00e9\n".encode("cp1252")
    server = MemoryServer()
    server.put("in/sales.csv", data)
    source = await make_source(runtime, tenancy)

    summary = await run_once(runtime, source, server)

    assert [(f.state, f.rows_ok) for f in summary.files] == [("imported", ROWS + 1)]
    assert await sales_count(runtime) == ROWS + 1
    async with runtime.db.session() as session:
        last = await session.scalar(select(PartnerSale).where(PartnerSale.transaction_id == "TLAST"))
        stored = await session.scalar(select(ImportFile))
    assert last is not None and last.sku == "Caf\u00e9"
    assert stored is not None and stored.checksum == hashlib.sha256(data).hexdigest()


async def test_a_quote_never_closed_late_in_the_file_is_a_row_error_and_the_rows_after_it_are_imported(
    runtime: Runtime,
) -> None:
    tenancy = await make_tenancy(runtime)
    data = (HEADER + many_rows() + '2026-01-02,"TOPEN,1,1,SKU-1\n2026-01-02,TAFTER,1,1,SKU-1\n').encode()
    server = MemoryServer()
    server.put("in/sales.csv", data)
    source = await make_source(runtime, tenancy)

    summary = await run_once(runtime, source, server)

    assert [(f.state, f.rows_ok, f.rows_with_errors) for f in summary.files] == [("imported", ROWS + 1, 1)]
    async with runtime.db.session() as session:
        errors = (await session.execute(select(ImportErrorRow.line, ImportErrorRow.code))).all()
        after = await session.scalar(select(PartnerSale.line).where(PartnerSale.transaction_id == "TAFTER"))
    assert [tuple(error) for error in errors] == [(ROWS + 2, "UnterminatedQuote")]
    assert after == ROWS + 3


async def test_a_large_download_dropped_midway_leaves_nothing_and_is_imported_once_later(
    runtime: Runtime,
) -> None:
    tenancy = await make_tenancy(runtime)
    data = (HEADER + many_rows()).encode()
    server = MemoryServer()
    server.put("in/sales.csv", data)
    server.drop_download("in/sales.csv", after_bytes=len(data) // 2)
    source = await make_source(runtime, tenancy)

    first = await run_once(runtime, source, server)
    assert first.outcome == "failed"
    assert await sales_count(runtime) == 0
    async with runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ImportFile)) == 0

    second = await run_once(runtime, source, server)
    assert [(f.state, f.rows_ok) for f in second.files] == [("imported", ROWS)]
    assert await sales_count(runtime) == ROWS
