"""Server time of the console's main pages with 100 sources and 1,000,000 partner sales in the tenant.

    .venv/bin/python benchmarks/console_pages.py [--rows 1000000] [--sources 100] [--repeat 30] [--postgres]

Seeds one tenant (SQLite in a temporary folder, or a fresh PostgreSQL database with ``--postgres``) with
``--sources`` SFTP sources, each with 30 days of runs and imported files, rejected rows on every file,
and ``--rows`` partner sales spread over the files (executemany on SQLite, COPY on PostgreSQL). Then it
signs a partner in (and an operator, for the operators' pages) and asks every console page ``--repeat``
times through the app in the same process (no network: what is measured is the server's time), beside a
static asset served by the same app in the same run, and prints each page's median and 95th percentile
with the median as a multiple of the static asset's, and the median CPU time of this process (on a
shared machine the wall clock also counts other people's work; with ``--postgres`` the database's own
CPU is not in it). Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.tenants import sftp_fields  # noqa: E402

from headwater import sources  # noqa: E402
from headwater.access import credentials, operators  # noqa: E402
from headwater.api.app import create_app  # noqa: E402
from headwater.clock import utcnow  # noqa: E402
from headwater.ingest.connectors.hosts import HostPolicy  # noqa: E402
from headwater.runtime import open_runtime  # noqa: E402
from headwater.settings import Settings  # noqa: E402
from headwater.store.tables import ImportErrorRow, ImportFile, Run  # noqa: E402

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DAYS = 30
FILES_PER_DAY = 2
ERRORS_PER_FILE = 5
PASSWORD = "bench-password-1"
OPERATOR = "bench-operator"
SALE_COLUMNS = (
    "tenant_id",
    "data_source_id",
    "import_file_id",
    "line",
    "sale_date",
    "transaction_id",
    "quantity",
    "amount",
    "total",
    "sku",
    "partner_sku_code",
)


async def seed_sources(settings: Settings, count: int) -> tuple[int, list[int]]:
    """The tenant, its partner and ``count`` sources with their runs, files and rejected rows."""
    now = utcnow()
    async with open_runtime(settings) as runtime, runtime.db.session() as session:
        tenant = await credentials.create_tenant(session, "bench")
        await credentials.create_touchpoint(session, runtime.box, tenant.id, "REST01")
        partner = await credentials.create_partner(session, tenant.id, "bench@example.com", password=PASSWORD)
        await operators.create_operator(session, OPERATOR, password=PASSWORD)
        source_ids = []
        for n in range(count):
            source = await sources.create_pull_source(
                session,
                tenant.id,
                sftp_fields(name=f"source {n:03d}", host=f"files{n}.partner.example"),
                runtime.box,
                owner_partner_id=partner.partner.id,
                hosts=HostPolicy(allow_private=True),
            )
            source_ids.append(source.id)
        runs = []
        for source_id in source_ids:
            for day in range(DAYS):
                at = now - timedelta(days=DAYS - 1 - day, hours=1)
                runs.append(
                    {
                        "tenant_id": tenant.id,
                        "data_source_id": source_id,
                        "trigger": "schedule",
                        "started_at": at,
                        "finished_at": at + timedelta(minutes=2),
                        "files_seen": FILES_PER_DAY,
                        "files_imported": FILES_PER_DAY,
                        "outcome": "succeeded",
                    }
                )
        await session.execute(insert(Run), runs)
        run_ids = {
            (source_id, started): run_id
            for run_id, source_id, started in await session.execute(
                select(Run.id, Run.data_source_id, Run.started_at)
            )
        }
        files = []
        for (source_id, started), run_id in run_ids.items():
            for k in range(FILES_PER_DAY):
                files.append(
                    {
                        "tenant_id": tenant.id,
                        "data_source_id": source_id,
                        "run_id": run_id,
                        "path": f"/in/{started:%Y-%m-%d}-{k}.csv",
                        "name": f"{started:%Y-%m-%d}-{k}.csv",
                        "state": "imported",
                        "file_type": "csv",
                        "processor_type": 25011,
                        "started_at": started,
                        "finished_at": started + timedelta(minutes=1),
                        "created_at": started,
                    }
                )
        await session.execute(insert(ImportFile), files)
        return tenant.id, source_ids


async def seed_errors_and_counts(settings: Settings, rows_per_file: dict[int, int]) -> None:
    async with open_runtime(settings) as runtime, runtime.db.session() as session:
        file_ids = list(rows_per_file)
        tenant_id = await session.scalar(select(ImportFile.tenant_id).limit(1))
        errors = [
            {
                "tenant_id": tenant_id,
                "import_file_id": file_id,
                "line": 10_000 + n,
                "column": "saleDate",
                "code": "InvalidDate" if n % 2 else "InvalidNumber",
                "message": "must be a date (YYYY-MM-DD)",
            }
            for file_id in file_ids
            for n in range(ERRORS_PER_FILE)
        ]
        await session.execute(insert(ImportErrorRow), errors)
        for file_id, count in rows_per_file.items():
            await session.execute(
                ImportFile.__table__.update()
                .where(ImportFile.id == file_id)
                .values(rows=count + ERRORS_PER_FILE, rows_ok=count, rows_with_errors=ERRORS_PER_FILE)
            )


async def file_ids_by_source(settings: Settings) -> dict[int, list[int]]:
    async with open_runtime(settings) as runtime, runtime.db.session() as session:
        found: dict[int, list[int]] = {}
        for file_id, source_id in await session.execute(
            select(ImportFile.id, ImportFile.data_source_id).order_by(ImportFile.id)
        ):
            found.setdefault(source_id, []).append(file_id)
        return found


def sale_rows(tenant_id: int, files: dict[int, list[int]], total: int) -> tuple[list[tuple[Any, ...]], dict[int, int]]:
    every_file = [(source_id, file_id) for source_id, ids in files.items() for file_id in ids]
    per_file = total // len(every_file)
    extra = total - per_file * len(every_file)
    rows: list[tuple[Any, ...]] = []
    counts: dict[int, int] = {}
    first_day = date(2024, 1, 1)
    for index, (source_id, file_id) in enumerate(every_file):
        count = per_file + (1 if index < extra else 0)
        counts[file_id] = count
        for line in range(count):
            n = len(rows)
            quantity = Decimal(n % 7 + 1)
            rows.append(
                (
                    tenant_id,
                    source_id,
                    file_id,
                    line + 2,
                    first_day + timedelta(days=n % 365),
                    f"T{n:08d}",
                    quantity,
                    Decimal("9.5"),
                    Decimal("9.5") * quantity,
                    f"SKU-{n % 50}",
                    f"SKU-{n % 50}",
                )
            )
    return rows, counts


def insert_sales_sqlite(path: Path, rows: list[tuple[Any, ...]]) -> None:
    columns = ", ".join(SALE_COLUMNS)
    marks = ", ".join("?" for _ in SALE_COLUMNS)
    with sqlite3.connect(path) as db:
        db.executemany(
            f"INSERT INTO partner_sales ({columns}) VALUES ({marks})",
            (
                (*row[:4], row[4].isoformat(), row[5], str(row[6]), str(row[7]), str(row[8]), *row[9:])
                for row in rows
            ),
        )


def insert_sales_postgres(dsn: str, rows: list[tuple[Any, ...]]) -> None:
    import psycopg

    with psycopg.connect(dsn) as db, db.cursor() as cursor:
        with cursor.copy(f"COPY partner_sales ({', '.join(SALE_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute("ANALYZE")


async def sign_in(client: httpx.AsyncClient, tenant: str, principal: str) -> None:
    form = await client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    signed = await client.post(
        "/console/login",
        data={"tenant": tenant, "principal": principal, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert signed.status_code == 303, signed.text


Timing = tuple[str, list[float], list[float]]  # page, wall seconds, CPU seconds


async def time_pages(client: httpx.AsyncClient, pages: list[tuple[str, str]], repeat: int) -> list[Timing]:
    timings = []
    for name, path in pages:
        for _ in range(3):  # warm caches and templates
            answer = await client.get(path)
            assert answer.status_code == 200, (path, answer.status_code)
        seconds, cpu = [], []
        for _ in range(repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            answer = await client.get(path)
            seconds.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            assert answer.status_code == 200
        timings.append((name, seconds, cpu))
    return timings


async def measure(
    settings: Settings, tenant_id: int, source_id: int, file_id: int, repeat: int
) -> list[Timing]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://bench") as partner,
            httpx.AsyncClient(transport=transport, base_url="http://bench") as operator,
        ):
            await sign_in(partner, "bench", "bench@example.com")
            await sign_in(operator, "", OPERATOR)
            static = ("static asset (baseline)", "/console/static/console.css")
            timings = await time_pages(
                partner,
                [
                    static,
                    ("sources overview", "/console/sources"),
                    ("source", f"/console/sources/{source_id}"),
                    ("source settings", f"/console/sources/{source_id}/settings"),
                    ("file", f"/console/sources/{source_id}/files/{file_id}"),
                    ("records", f"/console/sources/{source_id}/records"),
                    ("records, page 100", f"/console/sources/{source_id}/records?firstRow=5000"),
                    ("charts", "/console/charts"),
                    ("upload", "/console/upload"),
                ],
                repeat,
            )
            timings += await time_pages(
                operator,
                [
                    ("operator: sources overview", "/console/sources"),
                    ("operator: charts", "/console/charts"),
                    ("operator: tenants", "/console/tenants"),
                    ("operator: tenant", f"/console/tenants/{tenant_id}"),
                    ("operator: queue", "/console/queue"),
                    static,
                ],
                repeat,
            )
            return timings


def report(timings: list[Timing], label: str) -> None:
    # The static asset is asked first and last: its median over both is the baseline of this run.
    statics = [seconds for name, seconds, _ in timings if name == timings[0][0]]
    base = statistics.median([s for seconds in statics for s in seconds])
    print(f"\n{label}")
    print(f"{'page':30} {'median ms':>10} {'p95 ms':>10} {'x static':>10} {'cpu ms':>8}")
    for name, seconds, cpu in timings:
        ordered = sorted(seconds)
        median = statistics.median(ordered)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        flag = "" if median < 0.1 else "  SLOW (over 100 ms)"
        print(
            f"{name:30} {median * 1000:10.1f} {p95 * 1000:10.1f} {median / base:10.1f}"
            f" {statistics.median(cpu) * 1000:8.1f}{flag}"
        )


def run(settings: Settings, args: argparse.Namespace, sales_into: Any) -> None:
    started = time.perf_counter()
    tenant_id, source_ids = asyncio.run(seed_sources(settings, args.sources))
    files = asyncio.run(file_ids_by_source(settings))
    rows, counts = sale_rows(tenant_id, files, args.rows)
    sales_into(rows)
    del rows
    asyncio.run(seed_errors_and_counts(settings, counts))
    print(
        f"seeded {args.sources} sources, {sum(len(ids) for ids in files.values()):,} files and "
        f"{args.rows:,} sales in {time.perf_counter() - started:.0f} s"
    )
    # The last source: its rows come last, the worst case for a scan in id order.
    source_id = source_ids[-1]
    timings = asyncio.run(measure(settings, tenant_id, source_id, files[source_id][-1], args.repeat))
    report(timings, f"{settings.database_url.split(':')[0]}: {args.repeat} requests per page")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--postgres", action="store_true", help="a fresh database on 127.0.0.1:5432")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="headwater-console-bench-") as scratch:
        work = Path(scratch)
        common: dict[str, Any] = {
            "secret_key": Fernet.generate_key().decode(),
            "secret_key_file": work / "headwater.key",
            "run_imports": False,
            "log_level": "WARNING",
        }
        if not args.postgres:
            path = work / "headwater.db"
            settings = Settings(database_url=f"sqlite+aiosqlite:///{path}", **common)
            run(settings, args, lambda rows: insert_sales_sqlite(path, rows))
            return
        import psycopg

        name = f"headwater_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
            try:
                settings = Settings(database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", **common)
                dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
                run(settings, args, lambda rows: insert_sales_postgres(dsn, rows))
            finally:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
