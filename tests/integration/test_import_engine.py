"""The import engine against the in-memory server: the ledger, one transaction per file, failures."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from headwater.clock import as_utc, utcnow
from headwater.errors import ConnectionFailed
from headwater.ingest.connectors.memory import MemoryServer
from headwater.ingest.imports import RunSummary, run_source
from headwater.ingest.uploads import import_upload
from headwater.runtime import Runtime
from headwater.store.tables import DataSource, ImportErrorRow, ImportFile, PartnerSale, Run
from tests.support.tenants import Tenancy, make_source, make_tenancy

HEADER = "saleDate,transactionId,quantity,amount,partnerSkuCode\n"


def sales(*rows: str) -> bytes:
    return (HEADER + "".join(row + "\n" for row in rows)).encode()


@pytest.fixture
async def tenancy(runtime: Runtime) -> Tenancy:
    return await make_tenancy(runtime)


async def run_once(runtime: Runtime, source: DataSource, server: MemoryServer) -> RunSummary:
    """One run of the source against the in-memory server."""
    return await run_source(runtime, source.tenant_id, source.id, connect=server.connector_for)


async def count(runtime: Runtime, model: type, **where: object) -> int:
    async with runtime.db.session() as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(await session.scalar(query) or 0)


async def reload(runtime: Runtime, source: DataSource) -> DataSource:
    async with runtime.db.session() as session:
        found = await session.get(DataSource, source.id)
        assert found is not None
        return found


async def test_a_new_file_is_imported_and_the_source_goes_back_to_idle(
    runtime: Runtime, tenancy: Tenancy
) -> None:
    server = MemoryServer()
    server.put("in/sales-1.csv", sales("2026-01-02,T1,2,10.5,SKU-1", "2026-01-02,T2,1,3,SKU-2"))
    source = await make_source(runtime, tenancy)

    summary = await run_once(runtime, source, server)

    assert summary.outcome == "succeeded"
    assert [(f.path, f.state, f.rows, f.rows_ok) for f in summary.files] == [
        ("sales-1.csv", "imported", 2, 2)
    ]
    async with runtime.db.session() as session:
        rows = (await session.scalars(select(PartnerSale).order_by(PartnerSale.line))).all()
        assert [(r.transaction_id, r.line, str(r.total)) for r in rows] == [
            ("T1", 2, "21.000000"),
            ("T2", 3, "3.000000"),
        ]
        run = await session.scalar(select(Run))
        assert run is not None and run.outcome == "succeeded" and run.files_imported == 1
    stored = await reload(runtime, source)
    assert stored.status == "idle"
    assert stored.last_running_time is not None
    assert stored.next_run_at is not None and as_utc(stored.next_run_at) > utcnow()


async def test_an_unchanged_file_is_skipped_without_downloading_it_again(
    runtime: Runtime, tenancy: Tenancy
) -> None:
    server = MemoryServer()
    server.put("in/sales-1.csv", sales("2026-01-02,T1,2,10.5,SKU-1"))
    source = await make_source(runtime, tenancy)
    await run_once(runtime, source, server)

    summary = await run_once(runtime, source, server)

    assert [f.state for f in summary.files] == ["skipped"]
    assert len(server.downloads) == 1
    assert await count(runtime, PartnerSale) == 1


async def test_a_file_arriving_late_with_an_older_time_is_still_imported(
    runtime: Runtime, tenancy: Tenancy
) -> None:
    server = MemoryServer()
    server.put("in/new.csv", sales("2026-01-02,T1,1,1,SKU-1"))
    source = await make_source(runtime, tenancy)
    await run_once(runtime, source, server)
    server.put("in/old.csv", sales("2026-01-01,T0,1,1,SKU-1"), mtime=utcnow() - timedelta(days=30))

    summary = await run_once(runtime, source, server)

    assert {f.path: f.state for f in summary.files} == {"new.csv": "skipped", "old.csv": "imported"}
    assert await count(runtime, PartnerSale) == 2


async def test_a_changed_file_within_the_window_replaces_its_earlier_rows(
    runtime: Runtime, tenancy: Tenancy
) -> None:
    server = MemoryServer()
    server.put("in/sales.csv", sales("2026-01-02,T1,1,1,SKU-1", "2026-01-02,T2,1,1,SKU-1"))
    source = await make_source(runtime, tenancy, reprocessingDays=7)
    await run_once(runtime, source, server)
    server.put("in/sales.csv", sales("2026-01-02,T3,1,1,SKU-1"))

    summary = await run_once(runtime, source, server)

    assert [f.state for f in summary.files] == ["imported"]
    async with runtime.db.session() as session:
        ids = (await session.scalars(select(PartnerSale.transaction_id))).all()
    assert ids == ["T3"]
    assert await count(runtime, ImportFile) == 1


async def test_a_changed_file_is_not_imported_again_without_a_reprocessing_window(
    runtime: Runtime, tenancy: Tenancy
) -> None:
    server = MemoryServer()
    server.put("in/sales.csv", sales("2026-01-02,T1,1,1,SKU-1"))
    source = await make_source(runtime, tenancy)  # reprocessingDays null: never
    await run_once(runtime, source, server)
    server.put("in/sales.csv", sales("2026-01-02,T9,1,1,SKU-1"))

    summary = await run_once(runtime, source, server)

    assert [f.state for f in summary.files] == ["skipped"]
    async with runtime.db.session() as session:
        assert (await session.scalars(select(PartnerSale.transaction_id))).all() == ["T1"]


async def test_a_changed_file_older_than_the_window_is_skipped(runtime: Runtime, tenancy: Tenancy) -> None:
    server = MemoryServer()
    server.put("in/sales.csv", sales("2026-01-02,T1,1,1,SKU-1"), mtime=utcnow() - timedelta(days=40))
    source = await make_source(runtime, tenancy, reprocessingDays=10)
    await run_once(runtime, source, server)
    server.put("in/sales.csv", sales("2026-01-02,T9,1,1,SKU-1"), mtime=utcnow() - timedelta(days=20))

    summary = await run_once(runtime, source, server)

    assert [f.state for f in summary.files] == ["skipped"]


async def test_a_touched_file_with_the_same_content_imports_nothing_twice(
    runtime: Runtime, tenancy: Tenancy
) -> None:
    server = MemoryServer()
    content = sales("2026-01-02,T1,1,1,SKU-1")
    server.put("in/sales.csv", content)
    source = await make_source(runtime, tenancy, reprocessingDays=7)
    await run_once(runtime, source, server)
    server.put("in/sales.csv", content, mtime=utcnow() + timedelta(seconds=5))

    summary = await run_once(runtime, source, server)

    assert [f.state for f in summary.files] == ["skipped"]
    assert await count(runtime, PartnerSale) == 1


async def test_a_sale_already_imported_from_another_file_is_skipped(
    runtime: Runtime, tenancy: Tenancy
) -> None:
    server = MemoryServer()
    server.put("in/a.csv", sales("2026-01-02,T1,1,1,SKU-1"))
    server.put("in/b.csv", sales("2026-01-02,T1,1,1,SKU-1", "2026-01-02,T2,1,1,SKU-1"))
    source = await make_source(runtime, tenancy)

    summary = await run_once(runtime, source, server)

    by_path = {f.path: f for f in summary.files}
    assert (by_path["a.csv"].rows_ok, by_path["a.csv"].rows_skipped) == (1, 0)
    assert (by_path["b.csv"].rows_ok, by_path["b.csv"].rows_skipped) == (1, 1)
    assert await count(runtime, PartnerSale) == 2


async def test_bad_rows_are_kept_with_their_line_and_code_and_good_rows_are_imported(
    runtime: Runtime, tenancy: Tenancy
) -> None:
    server = MemoryServer()
    server.put(
        "in/sales.csv", sales("2026-01-02,T1,1,1,SKU-1", "not-a-date,T2,1,1,SKU-1", "2026-01-02,T3,x,1,SKU-1")
    )
    source = await make_source(runtime, tenancy)

    summary = await run_once(runtime, source, server)

    [outcome] = summary.files
    assert (outcome.rows, outcome.rows_ok, outcome.rows_with_errors) == (3, 1, 2)
    async with runtime.db.session() as session:
        errors = (await session.scalars(select(ImportErrorRow).order_by(ImportErrorRow.line))).all()
    assert [(e.line, e.column, e.code) for e in errors] == [
        (3, "saleDate", "InvalidDate"),
        (4, "quantity", "InvalidNumber"),
    ]


async def test_an_unreadable_file_fails_alone_and_is_not_retried_until_it_changes(
    runtime: Runtime, tenancy: Tenancy
) -> None:
    server = MemoryServer()
    server.put("in/broken.csv", b"\x00\x01\x02\xff binary \x00")
    server.put("in/good.csv", sales("2026-01-02,T1,1,1,SKU-1"))
    source = await make_source(runtime, tenancy)

    first = await run_once(runtime, source, server)
    second = await run_once(runtime, source, server)

    assert {f.path: f.state for f in first.files} == {"broken.csv": "failed", "good.csv": "imported"}
    assert first.outcome == "partial"
    assert {f.path: f.state for f in second.files} == {"broken.csv": "skipped", "good.csv": "skipped"}
    async with runtime.db.session() as session:
        broken = await session.scalar(select(ImportFile).where(ImportFile.path == "broken.csv"))
    assert broken is not None and broken.state == "failed" and broken.error


async def test_a_download_dropped_midway_leaves_nothing_and_the_next_run_imports_the_file_once(
    runtime: Runtime, tenancy: Tenancy
) -> None:
    server = MemoryServer()
    rows = [f"2026-01-02,T{i},1,1,SKU-1" for i in range(2000)]
    server.put("in/big.csv", sales(*rows))
    server.drop_download("in/big.csv", after_bytes=20_000)
    source = await make_source(runtime, tenancy)

    first = await run_once(runtime, source, server)
    assert first.outcome == "failed"
    assert await count(runtime, PartnerSale) == 0
    assert await count(runtime, ImportFile) == 0

    second = await run_once(runtime, source, server)
    assert second.outcome == "succeeded"
    assert await count(runtime, PartnerSale) == 2000
    third = await run_once(runtime, source, server)
    assert [f.state for f in third.files] == ["skipped"]
    assert await count(runtime, PartnerSale) == 2000


async def test_an_unreachable_server_fails_the_run_and_backs_off_but_keeps_the_source_active(
    runtime: Runtime, tenancy: Tenancy
) -> None:
    server = MemoryServer()
    server.fail_connections(ConnectionFailed("cannot reach files.partner.example:22"))
    source = await make_source(runtime, tenancy)

    first = await run_once(runtime, source, server)
    after_first = await reload(runtime, source)
    second = await run_once(runtime, source, server)
    after_second = await reload(runtime, source)

    assert first.outcome == second.outcome == "failed"
    assert first.message == "cannot reach files.partner.example:22"
    assert after_first.active and after_first.status == "idle"
    assert (after_first.failure_count, after_second.failure_count) == (1, 2)
    assert after_first.next_run_at is not None and after_second.next_run_at is not None
    first_wait = as_utc(after_first.next_run_at) - as_utc(after_first.last_running_time or utcnow())
    second_wait = as_utc(after_second.next_run_at) - as_utc(after_second.last_running_time or utcnow())
    assert second_wait == 2 * first_wait


async def test_the_host_key_is_pinned_on_first_use_and_a_changed_key_fails_the_run(
    runtime: Runtime, tenancy: Tenancy
) -> None:
    server = MemoryServer(host_key="ssh-ed25519 AAAAfirst")
    server.put("in/a.csv", sales("2026-01-02,T1,1,1,SKU-1"))
    source = await make_source(runtime, tenancy)
    await run_once(runtime, source, server)
    assert (await reload(runtime, source)).host_key == "ssh-ed25519 AAAAfirst"

    server.host_key = "ssh-ed25519 AAAAsecond"
    server.put("in/b.csv", sales("2026-01-02,T2,1,1,SKU-1"))
    summary = await run_once(runtime, source, server)

    assert summary.outcome == "failed"
    assert summary.message is not None and "host key" in summary.message.lower()
    assert await count(runtime, PartnerSale) == 1


async def test_an_upload_goes_through_the_same_pipeline(runtime: Runtime, tenancy: Tenancy) -> None:
    data = io.BytesIO(sales("2026-01-02,T1,1,1,SKU-1", "bad,T2,1,1,SKU-1"))

    file = await import_upload(
        runtime,
        tenancy.tenant_id,
        source_id=None,
        name="../../etc/sales.csv",
        processor_type=25011,
        data=data,
        owner_partner_id=tenancy.partner_id,
    )

    assert (file.name, file.state, file.rows, file.rows_ok, file.rows_with_errors) == (
        "sales.csv",
        "imported",
        2,
        1,
        1,
    )
    assert file.file_type == "CSV"


async def test_deleting_a_source_deletes_its_files_errors_and_records(
    runtime: Runtime, tenancy: Tenancy
) -> None:
    from headwater.store import sources as source_store

    server = MemoryServer()
    server.put("in/sales.csv", sales("2026-01-02,T1,1,1,SKU-1", "bad,T2,1,1,SKU-1"))
    source = await make_source(runtime, tenancy)
    kept = await make_source(runtime, tenancy, workingDirectory="/other")
    server.put("other/sales.csv", sales("2026-01-02,T1,1,1,SKU-1"))
    await run_once(runtime, source, server)
    await run_once(runtime, kept, server)

    async with runtime.db.session() as session:
        await source_store.delete(session, await source_store.get(session, tenancy.tenant_id, source.id))

    assert await count(runtime, PartnerSale, data_source_id=source.id) == 0
    assert await count(runtime, ImportFile, data_source_id=source.id) == 0
    assert await count(runtime, ImportErrorRow) == 0
    assert await count(runtime, PartnerSale, data_source_id=kept.id) == 1
