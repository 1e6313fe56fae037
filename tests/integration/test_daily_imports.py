"""Rows per day (``daily_imports``): what the console's sparklines and charts show always equals the ledger
and the imported rows, through imports, re-imports, failures and deletes, on both databases."""

from __future__ import annotations

import io
import sqlite3
from datetime import date
from pathlib import Path

import anyio
import httpx
import psycopg
from fastapi import FastAPI
from sqlalchemy import func, select, text

from headwater import overview
from headwater.clock import utcnow
from headwater.ingest import reimports, uploads
from headwater.ingest.connectors.memory import MemoryServer
from headwater.ingest.imports import run_source
from headwater.overview import Scope
from headwater.runtime import Runtime
from headwater.store import migrate
from headwater.store import sources as source_store
from headwater.store.tables import DailyImport, DataSource, ImportFile, PartnerSale
from tests.conftest import PG_ADMIN_DSN, postgres_admin
from tests.integration.console_support import sign_in
from tests.support.tenants import Tenancy, make_source, make_tenancy

HEADER = "saleDate,transactionId,quantity,amount,partnerSkuCode\n"
TRIGGERS = {"import_files_daily_insert", "import_files_daily_update", "import_files_daily_delete"}


def sales(*rows: str) -> bytes:
    return (HEADER + "".join(row + "\n" for row in rows)).encode()


def good(*ids: str) -> list[str]:
    return [f"2026-01-02,{tid},1,1,SKU-1" for tid in ids]


def bad(count: int) -> list[str]:
    return [f"not-a-date,B{n},1,1,SKU-1" for n in range(count)]


async def ledger_by_day(runtime: Runtime) -> dict[tuple[int, date], tuple[int, int, int]]:
    """The grouping of the ledger the rollup stands for, computed the slow way."""
    async with runtime.db.session() as session:
        day = (
            func.date(func.timezone("UTC", ImportFile.finished_at))
            if runtime.db.is_postgres
            else func.date(ImportFile.finished_at)
        )
        rows = await session.execute(
            select(
                ImportFile.data_source_id,
                day,
                func.count(),
                func.sum(ImportFile.rows_ok),
                func.sum(ImportFile.rows_with_errors),
            )
            .where(ImportFile.state == "imported", ImportFile.finished_at.is_not(None))
            .group_by(ImportFile.data_source_id, day)
        )
        return {
            (source, on if isinstance(on, date) else date.fromisoformat(on)): (int(files), int(ok), int(bad))
            for source, on, files, ok, bad in rows
        }


async def rollup(runtime: Runtime) -> dict[tuple[int, date], tuple[int, int, int]]:
    async with runtime.db.session() as session:
        rows = await session.scalars(select(DailyImport))
        return {(r.data_source_id, r.day): (r.files, r.rows_ok, r.rows_with_errors) for r in rows}


async def shown_today(runtime: Runtime, tenancy: Tenancy, source_id: int) -> tuple[int, int]:
    """Rows imported and rejected today, as the overview (sparklines and charts) has them."""
    async with runtime.db.session() as session:
        summaries = await overview.summarize(session, Scope(tenant_id=tenancy.tenant_id))
    summary = next(s for s in summaries if s.source.id == source_id)
    return summary.daily_rows[-1], summary.daily_rejected[-1]


async def stored_sales(runtime: Runtime, source_id: int) -> int:
    async with runtime.db.session() as session:
        return int(await session.scalar(select(func.count()).where(PartnerSale.data_source_id == source_id)) or 0)


async def check(runtime: Runtime, tenancy: Tenancy, source: DataSource, imported: int, rejected: int) -> None:
    assert await rollup(runtime) == await ledger_by_day(runtime)
    assert await shown_today(runtime, tenancy, source.id) == (imported, rejected)


async def test_the_figures_per_day_follow_imports_reimports_failures_and_deletes(runtime: Runtime) -> None:
    tenancy = await make_tenancy(runtime)
    server = MemoryServer()
    server.put("in/a.csv", sales(*good("A1", "A2", "A3"), *bad(2)))
    server.put("in/b.csv", sales(*good("B1")))
    source = await make_source(runtime, tenancy, reprocessingDays=7)
    other = await make_source(runtime, tenancy, name="other")

    async def run() -> None:
        await run_source(runtime, source.tenant_id, source.id, connect=server.connector_for)

    await run()
    await check(runtime, tenancy, source, 4, 2)
    assert await stored_sales(runtime, source.id) == 4

    # A changed file replaces its rows: its old figures leave the day, its new ones come in.
    server.put("in/a.csv", sales(*good("A4"), *bad(1)))
    await run()
    await check(runtime, tenancy, source, 2, 1)
    assert await stored_sales(runtime, source.id) == 2

    # A file marked for import again is not counted until it is imported again, as the ledger says.
    async with runtime.db.session() as session:
        b_file = await session.scalar(select(ImportFile).where(ImportFile.path == "b.csv"))
        assert b_file is not None
        await reimports.request_file_reimport(session, source.tenant_id, b_file.id)
    await check(runtime, tenancy, source, 1, 1)
    await run()
    await check(runtime, tenancy, source, 2, 1)

    # A change that cannot be read fails the file: it imported nothing, so nothing of it is counted.
    server.put("in/b.csv", b"no,such,columns\n1,2,3\n")
    await run()
    await check(runtime, tenancy, source, 1, 1)

    # An upload into another source counts there only; deleting the source takes its days away.
    await uploads.import_upload(
        runtime,
        tenancy.tenant_id,
        source_id=other.id,
        name="up.csv",
        processor_type=25011,
        data=io.BytesIO(sales(*good("U1", "U2"))),
        owner_partner_id=tenancy.partner_id,
    )
    await check(runtime, tenancy, source, 1, 1)
    assert await shown_today(runtime, tenancy, other.id) == (2, 0)
    async with runtime.db.session() as session:
        await source_store.delete(session, await source_store.get(session, tenancy.tenant_id, source.id))
    assert await rollup(runtime) == await ledger_by_day(runtime)
    assert {source_id for source_id, _ in await rollup(runtime)} == {other.id}


async def test_the_charts_page_shows_the_rows_of_the_files_as_imported_now(
    app_client: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = app_client
    runtime: Runtime = app.state.runtime
    tenancy = await make_tenancy(runtime, "acme")
    server = MemoryServer()
    server.put("in/a.csv", sales(*good("A1", "A2", "A3"), *bad(2)))
    source = await make_source(runtime, tenancy, reprocessingDays=7)
    await run_source(runtime, source.tenant_id, source.id, connect=server.connector_for)
    await sign_in(client, tenancy.principal, tenancy.password, tenant="acme")
    assert "3 rows imported and 2 rejected in 30 days" in (await client.get("/console/charts")).text
    assert "3 rows in 30 days" in (await client.get("/console/sources")).text

    server.put("in/a.csv", sales(*good("A4", "A5", "A6", "A7"), *bad(1)))
    await run_source(runtime, source.tenant_id, source.id, connect=server.connector_for)
    charts = (await client.get("/console/charts")).text
    assert "4 rows imported and 1 rejected in 30 days" in charts
    assert "3 rows imported" not in charts
    assert "4 rows in 30 days" in (await client.get("/console/sources")).text


async def test_the_rollup_is_kept_by_triggers_at_the_head_of_the_migrations(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        if runtime.db.is_postgres:
            found = await session.scalars(
                text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'import_files'::regclass AND NOT tgisinternal")
            )
            assert "import_files_daily" in set(found)
        else:
            found = await session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            # SQLite's batch mode drops the triggers of a table it copies: a later migration must
            # create them again.
            assert TRIGGERS <= set(found)


async def test_the_migration_fills_the_rollup_from_the_ledger(tmp_path: Path) -> None:
    """Files imported before the migration are counted from the start, on both databases."""
    name = f"headwater_rollup_{utcnow():%H%M%S%f}"
    with postgres_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        for url in (
            f"sqlite+aiosqlite:///{tmp_path / 'before.db'}",
            f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
        ):
            await anyio.to_thread.run_sync(migrate.upgrade, url, "0007_webhooks")
            await anyio.to_thread.run_sync(_ledger_before_the_rollup, url)
            await anyio.to_thread.run_sync(migrate.upgrade, url)
            assert await anyio.to_thread.run_sync(_rollup_of, url) == [
                (date(2026, 1, 2), 2, 7, 3),
                (date(2026, 1, 3), 1, 5, 0),
            ]
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_LEDGER = [
    # path, state, rows_ok, rows_with_errors, finished_at (UTC)
    ("a.csv", "imported", 4, 1, "2026-01-02 00:00:01"),
    ("b.csv", "imported", 3, 2, "2026-01-02 23:59:59"),
    ("c.csv", "imported", 5, 0, "2026-01-03 10:00:00"),
    ("d.csv", "failed", 0, 0, "2026-01-03 11:00:00"),
    ("e.csv", "reimport", 9, 9, "2026-01-03 12:00:00"),
]


def _ledger_before_the_rollup(url: str) -> None:
    statements = [
        "INSERT INTO tenants (id, name, created_at) VALUES (1, 't', '2026-01-01 00:00:00+00')",
        "INSERT INTO data_sources (id, tenant_id, uuid, name, system, tls, amount_calculated, active, status,"
        " file_pattern, after_import, recursive, failure_count, created_at, updated_at) VALUES (1, 1, 'ds_1',"
        " 's', 'Custom', false, false, true, 'idle', '*', 'KEEP', false, 0, '2026-01-01 00:00:00+00',"
        " '2026-01-01 00:00:00+00')",
    ]
    for path, state, ok, bad, finished in _LEDGER:
        when = f"{finished}+00" if url.startswith("postgresql") else f"{finished}.000000"
        statements.append(
            "INSERT INTO import_files (tenant_id, data_source_id, path, name, state, rows, rows_ok,"
            " rows_with_errors, rows_skipped, rows_rollbacked, finished_at, created_at)"
            f" VALUES (1, 1, '{path}', '{path}', '{state}', {ok + bad}, {ok}, {bad}, 0, 0, '{when}', '{when}')"
        )
    _execute(url, statements)


def _rollup_of(url: str) -> list[tuple[date, int, int, int]]:
    rows = _execute(url, ["SELECT day, files, rows_ok, rows_with_errors FROM daily_imports ORDER BY day"])
    return [(d if isinstance(d, date) else date.fromisoformat(d), int(f), int(o), int(b)) for d, f, o, b in rows]


def _execute(url: str, statements: list[str]) -> list[tuple[object, ...]]:
    found: list[tuple[object, ...]] = []
    if url.startswith("postgresql"):
        with psycopg.connect(url.replace("postgresql+asyncpg", "postgresql")) as db:
            for statement in statements:
                cursor = db.execute(statement)
                found = list(cursor.fetchall()) if cursor.description else []
        return found
    with sqlite3.connect(url.removeprefix("sqlite+aiosqlite:///")) as db:
        for statement in statements:
            found = db.execute(statement).fetchall()
    return found
