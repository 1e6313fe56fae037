"""The embedded runner: polls due sources, never runs one source twice at once, survives stop()."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from headwater.clock import as_utc
from headwater.ingest.connectors.memory import MemoryServer
from headwater.ingest.jobs.embedded import EmbeddedRunner
from headwater.runtime import Runtime
from headwater.store import imports as ledger_store
from headwater.store.tables import DataSource, PartnerSale, Run
from tests.support.tenants import Tenancy, make_source, make_tenancy

SALES = b"saleDate,transactionId,quantity,amount,partnerSkuCode\n2026-01-02,T1,1,1,SKU-1\n"


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def tenancy(runtime: Runtime) -> Tenancy:
    return await make_tenancy(runtime)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> MemoryServer:
    """Every run of the runner reaches this in-memory server instead of the network."""
    memory = MemoryServer()
    monkeypatch.setattr("headwater.ingest.imports.connector_for", memory.connector_for)
    return memory


async def test_the_runner_imports_due_sources_by_itself(
    runtime: Runtime, tenancy: Tenancy, server: MemoryServer
) -> None:
    server.put("in/sales.csv", SALES)
    source = await make_source(runtime, tenancy)
    runner = EmbeddedRunner(runtime, tick_seconds=0.05)
    await runner.start()
    try:

        async def imported() -> bool:
            async with runtime.db.session() as session:
                return bool(await session.scalar(select(func.count()).select_from(PartnerSale)))

        await eventually(imported, "the scheduled run")
        await runner.wait_idle()
    finally:
        await runner.stop()
    async with runtime.db.session() as session:
        runs = (await session.scalars(select(Run.trigger).where(Run.data_source_id == source.id))).all()
    assert runs == ["schedule"]  # not due again before the poll interval


async def test_a_source_is_never_run_twice_at_once(
    runtime: Runtime, tenancy: Tenancy, server: MemoryServer
) -> None:
    server.put("in/sales.csv", SALES)
    source = await make_source(runtime, tenancy)
    runner = EmbeddedRunner(runtime, tick_seconds=3600)

    first = await runner.request_run(tenancy.tenant_id, source.id)
    second = await runner.request_run(tenancy.tenant_id, source.id)
    await runner.wait_idle()
    third = await runner.request_run(tenancy.tenant_id, source.id)
    await runner.wait_idle()

    assert (first, second, third) == (True, False, True)


async def test_inactive_sources_are_not_polled(
    runtime: Runtime, tenancy: Tenancy, server: MemoryServer
) -> None:
    await make_source(runtime, tenancy, active=False)
    from headwater.ingest.imports import due_sources

    assert await due_sources(runtime) == []


async def test_a_source_left_working_by_a_crash_is_idle_after_start(
    runtime: Runtime, tenancy: Tenancy
) -> None:
    source = await make_source(runtime, tenancy, active=False)
    async with runtime.db.session() as session:
        stored = await session.get(DataSource, source.id)
        assert stored is not None
        stored.status = "working"
    runner = EmbeddedRunner(runtime, tick_seconds=3600)
    await runner.start()
    await runner.stop()
    async with runtime.db.session() as session:
        assert (await session.get(DataSource, source.id)).status == "idle"  # type: ignore[union-attr]


async def test_a_source_runs_again_after_its_own_interval(
    runtime: Runtime, tenancy: Tenancy, server: MemoryServer
) -> None:
    server.put("in/sales.csv", SALES)
    source = await make_source(runtime, tenancy, schedule=120)
    runner = EmbeddedRunner(runtime, tick_seconds=3600)

    await runner.request_run(tenancy.tenant_id, source.id, trigger="schedule")
    await runner.wait_idle()

    async with runtime.db.session() as session:
        stored = await session.get(DataSource, source.id)
        assert stored is not None and stored.last_running_time is not None and stored.next_run_at is not None
        assert as_utc(stored.next_run_at) - as_utc(stored.last_running_time) == timedelta(seconds=120)
        assert stored.last_run_status == "succeeded"


async def test_runs_a_stopped_process_left_behind_are_closed_at_start(
    runtime: Runtime, tenancy: Tenancy
) -> None:
    source = await make_source(runtime, tenancy, active=False)
    async with runtime.db.session() as session:
        await ledger_store.start_run(session, tenancy.tenant_id, source.id, "schedule")
        await ledger_store.queue_run(session, tenancy.tenant_id, source.id, "manual")
    runner = EmbeddedRunner(runtime, tick_seconds=3600)
    await runner.start()
    await runner.stop()
    async with runtime.db.session() as session:
        runs = (await session.execute(select(Run.outcome, Run.error_code).order_by(Run.id))).all()
        stored = await session.get(DataSource, source.id)
    assert [tuple(run) for run in runs] == [("failed", "Interrupted"), ("skipped", None)]
    assert stored is not None and stored.last_run_status == "skipped"
    assert stored.last_error_code == "Interrupted"
