"""Latency of one page of ``GET /prod/partnerSales`` as the table grows to millions of rows.

    .venv/bin/python benchmarks/page_latency.py [--rows 10000000] [--small 100000] [--repeat 5]
        [--database postgres|sqlite] [--postgres-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]

Makes a scratch database, seeds one tenant with ``--small`` partner sales, measures, then grows the
table to ``--rows`` and measures again, so both figures come from the same run. The rows are made by
the database itself (``INSERT … SELECT`` over a series, in chunks of a million, then ``ANALYZE``):
10,000,000 take a few minutes on two cores. On SQLite, written by hand, they are counted into
``record_blocks`` after each chunk, as an import would have counted them (a headwater that keeps no
counts there, given by ``PYTHONPATH``, leaves them uncounted). Each figure is the median of ``--repeat``
requests through the whole app in-process (token, area key, query, JSON), for the first page, a page
by key at the end of the table (``idFrom``) and pages by offset (``firstRow``) in the middle and at the
end. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.records import add_custom_source, add_import_file, add_tenant  # noqa: E402

from benchmarks.run_latency import scratch_postgres  # noqa: E402
from benchmarks.served import integration_headers  # noqa: E402
from headwater.access import areakeys, oauth  # noqa: E402
from headwater.api.app import create_app  # noqa: E402
from headwater.runtime import Runtime  # noqa: E402
from headwater.settings import Settings  # noqa: E402
from headwater.store.tables import PartnerSale  # noqa: E402

try:
    from headwater.store import record_counts
except ImportError:  # a headwater that keeps no counts on SQLite
    record_counts = None  # type: ignore[assignment]

CHUNK = 1_000_000
PAGE = 1000

# Rows like an import writes them: one file of one source, a transaction id each, a few SKUs and days.
FILL = """
INSERT INTO partner_sales (tenant_id, data_source_id, import_file_id, line, sale_date, transaction_id,
                           quantity, amount, total, sku, partner_sku_code, currency)
SELECT :tenant, :source, :file, n + 2, DATE '2024-01-01' + (n % 365), 'T' || n,
       n % 7 + 1, 9.5, 9.5 * (n % 7 + 1), 'SKU-' || (n % 10), 'SKU-' || (n % 10),
       CASE WHEN n % 2 = 1 THEN 'EUR' END
FROM generate_series(:start, :stop - 1) AS n
"""
FILL_SQLITE = """
WITH RECURSIVE series(n) AS (SELECT :start UNION ALL SELECT n + 1 FROM series WHERE n + 1 < :stop)
INSERT INTO partner_sales (tenant_id, data_source_id, import_file_id, line, sale_date, transaction_id,
                           quantity, amount, total, sku, partner_sku_code, currency)
SELECT :tenant, :source, :file, n + 2, date('2024-01-01', '+' || (n % 365) || ' days'), 'T' || n,
       n % 7 + 1, 9.5, 9.5 * (n % 7 + 1), 'SKU-' || (n % 10), 'SKU-' || (n % 10),
       CASE WHEN n % 2 = 1 THEN 'EUR' END
FROM series
"""


async def grow(runtime: Runtime, ids: tuple[int, int, int], start: int, stop: int) -> None:
    tenant, source, file = ids
    sqlite = not runtime.db.is_postgres
    for chunk in range(start, stop, CHUNK):
        began = time.perf_counter()
        async with runtime.db.session() as session:
            await session.execute(
                text(FILL_SQLITE if sqlite else FILL),
                {
                    "tenant": tenant,
                    "source": source,
                    "file": file,
                    "start": chunk,
                    "stop": min(stop, chunk + CHUNK),
                },
            )
            if sqlite and record_counts is not None:
                await record_counts.catch_up(await session.connection(), PartnerSale.__tablename__)
        print(
            f"  rows {chunk:>10,} .. {min(stop, chunk + CHUNK):>10,} in {time.perf_counter() - began:5.1f} s"
        )
    async with runtime.db.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("ANALYZE partner_sales" if sqlite else "VACUUM ANALYZE partner_sales"))


async def median_ms(
    http: httpx.AsyncClient, headers: dict[str, str], params: dict[str, int], repeat: int
) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        answer = await http.get("/prod/partnerSales", params={"maxNumRows": PAGE, **params}, headers=headers)
        times.append(time.perf_counter() - began)
        if answer.status_code != 200 or not answer.content.startswith(b"[{"):
            raise RuntimeError(f"unexpected answer {answer.status_code} {answer.text[:200]}")
    return statistics.median(times) * 1000


async def measure(
    runtime: Runtime, http: httpx.AsyncClient, headers: dict[str, str], rows: int, repeat: int
) -> dict[str, float]:
    async with runtime.db.session() as session:
        last_ids = (
            (
                await session.execute(
                    text("SELECT id FROM partner_sales ORDER BY id DESC LIMIT :n"), {"n": PAGE}
                )
            )
            .scalars()
            .all()
        )
    return {
        "first page": await median_ms(http, headers, {}, repeat),
        "last page by key (idFrom)": await median_ms(http, headers, {"idFrom": min(last_ids)}, repeat),
        "middle page by offset": await median_ms(http, headers, {"firstRow": rows // 2}, repeat),
        "last page by offset": await median_ms(http, headers, {"firstRow": rows - PAGE}, repeat),
    }


@asynccontextmanager
async def scratch_database(options: argparse.Namespace, folder: Path) -> AsyncIterator[str]:
    if options.database == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'pages.db'}"
        return
    async with scratch_postgres(options.postgres_url) as url:
        yield url


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows at the second measurement")
    parser.add_argument("--small", type=int, default=100_000, help="rows at the first measurement")
    parser.add_argument("--repeat", type=int, default=5, help="requests per figure (the median is shown)")
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="headwater-pages-") as folder:
        async with scratch_database(options, Path(folder)) as url:
            settings = Settings(
                database_url=url,
                secret_key=Fernet.generate_key().decode(),
                secret_key_file=Path(folder) / "headwater.key",
                temp_directory=Path(folder),
                run_imports=False,
                log_level="WARNING",
            )
            app = create_app(settings)
            async with app.router.lifespan_context(app):
                runtime: Runtime = app.state.runtime
                async with runtime.db.session() as session:
                    tenant = await add_tenant(session, "bench", touchpoint="shop")
                    source = await add_custom_source(session, tenant, "bench", processor_type=25011)
                    file = await add_import_file(
                        session, tenant, source, "uploads/bench.csv", state="imported"
                    )
                    client = await oauth.create_client(session, "bench")
                    key = await areakeys.create_area_key(
                        session, runtime.box, "bench", per_second=1_000_000, per_day=1_000_000_000
                    )
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://bench", timeout=600
                ) as http:
                    headers = await integration_headers(http, client.client_id, client.secret, key.key)
                    ids = (tenant, source, file)
                    print(f"loading {options.small:,} rows")
                    await grow(runtime, ids, 0, options.small)
                    small = await measure(runtime, http, headers, options.small, options.repeat)
                    print(f"loading up to {options.rows:,} rows")
                    await grow(runtime, ids, options.small, options.rows)
                    large = await measure(runtime, http, headers, options.rows, options.repeat)

    print(
        f"\nGET /prod/partnerSales?maxNumRows={PAGE} on {options.database}, median of {options.repeat} (ms)"
    )
    print(f"{'page':<28} {options.small:>12,} {options.rows:>12,}")
    for label, value in small.items():
        print(f"{label:<28} {value:12.1f} {large[label]:12.1f}")


if __name__ == "__main__":
    asyncio.run(main())
