"""Import throughput: headwater pulling one partner sales CSV over SFTP into its store, beside a raw load.

    .venv/bin/python benchmarks/import_throughput.py [--rows 1000000] [--database {postgres,sqlite}]

Generates an N-row partner sales CSV, serves it from the SFTP test server on loopback, and has headwater
import it (download, parse, validate, write). Then loads the same file with the database's own bulk
loader into a plain table and into a table with headwater's keys. Prints rows/s of each, the ratios of
headwater to each load, and the peak RSS of the headwater process.

``--database postgres`` (the default): scratch PostgreSQL databases; headwater COPYs the file in one
transaction. The figure compared is a warm ``headwater worker``'s: started and registered first, the run
queued as "run now" queues it, timed until the runs table says it ended. A cold ``headwater run`` of
the same file (process start and module imports included) is printed beside it. The baselines are
``psql \\copy``, plus a third: ``psql \\copy`` of exactly the rows headwater sends (the file's columns
and the ones it adds: total, sku, line, owner ids) into partner_sales as migrated, the database's own
limit for the rows headwater stores.

``--database sqlite``: a SQLite store file in a temporary folder. SQLite has no worker queue: the warm
importer is a ``headwater serve`` (started and ready first, the run asked of the partner API's "run
now", timed until the runs table says it ended), which downloads the file, then INSERTs it in batches;
a cold ``headwater run SOURCE_ID`` is printed beside it. The baselines are the ``sqlite3`` shell's
``.import``, the keyed table being partner_sales exactly as headwater's migrations created it in that
store (read from ``sqlite_master``).

Not a test: the figures depend on the machine, which is why the baselines are measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import NamedTuple

import asyncssh
import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import make_settings  # noqa: E402
from tests.integration.worker_support import WorkerProcess, scalar, wait_until, worker_env  # noqa: E402
from tests.servers import LOOPBACK, PASSWORD, USER, _SftpServer  # noqa: E402
from tests.support.live import serve_process  # noqa: E402
from tests.support.tenants import Tenancy, make_source, make_tenancy  # noqa: E402

from benchmarks.memory import peak_rss, reset_peak_rss, run_watching_memory  # noqa: E402
from benchmarks.scratch import scratch_database  # noqa: E402
from benchmarks.sqlite_import import SQLITE3, sqlite_import  # noqa: E402
from headwater.domain import ProcessorType  # noqa: E402
from headwater.ingest.jobs.queue import defer_run  # noqa: E402
from headwater.ingest.jobs.tasks import build_app  # noqa: E402
from headwater.ingest.processors import processor_for  # noqa: E402
from headwater.ingest.processors.base import ProcessOptions  # noqa: E402
from headwater.runtime import open_runtime  # noqa: E402
from headwater.store.records import Owner, prepare_batch  # noqa: E402

# The project's own environment, else the one running this script (a checkout without its own .venv).
HEADWATER = next(
    (p for p in (ROOT / ".venv/bin/headwater", Path(sys.executable).with_name("headwater")) if p.exists()),
    ROOT / ".venv/bin/headwater",
)
HEADER = "saleDate,transactionId,quantity,amount,partnerSkuCode,currency\n"


def write_sales(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w", buffering=1 << 20) as handle:
        handle.write(HEADER)
        chunk: list[str] = []
        for n in range(rows):
            chunk.append(
                f"2026-{1 + n % 12:02d}-{1 + n % 28:02d},T{n:09d},{1 + n % 5},{rng.randint(100, 99999) / 100:.2f},"
                f"SKU-{n % 5000:05d},EUR\n"
            )
            if len(chunk) == 10_000:
                handle.write("".join(chunk))
                chunk.clear()
        handle.write("".join(chunk))


def psql_copy_own_rows(dsn: str, csv: Path, payload: Path) -> float:
    """``psql \\copy`` of exactly what headwater COPYs (the file's rows validated, with the columns it
    adds: total, sku, line and the owner's ids) into partner_sales, emptied first, as migrated."""
    _, batches = processor_for(ProcessorType.PARTNER_SALES).read(csv, ProcessOptions(batch_rows=50_000))
    columns: tuple[str, ...] = ()
    with psycopg.connect(dsn, autocommit=True) as connection:
        owner = connection.execute(
            "SELECT tenant_id, data_source_id, id FROM import_files ORDER BY id DESC LIMIT 1"
        ).fetchone()
        assert owner is not None, "the import left no file in the ledger"
        connection.execute("TRUNCATE partner_sales")
    with payload.open("wb") as out:
        for batch in batches:
            prepared = prepare_batch(ProcessorType.PARTNER_SALES, batch.records, Owner(*owner), postgres=True)
            assert prepared.copy is not None
            out.write(prepared.copy)
            columns = prepared.copy_columns
    names = ", ".join([*columns, "tenant_id", "data_source_id", "import_file_id"])
    started = time.perf_counter()
    subprocess.run(
        ["psql", dsn, "-q", "-c", f"\\copy partner_sales({names}) FROM '{payload}' WITH (FORMAT csv)"],
        check=True,
    )
    return time.perf_counter() - started


class BenchSource(NamedTuple):
    tenant_id: int
    source_id: int
    tenancy: Tenancy


# A source's first poll is at once, except on a cron schedule: at midnight on New Year's Day the run the
# benchmark times is the only one.
YEARLY = "0 0 1 1 *"


async def create_source(url: str, work: Path, port: int) -> BenchSource:
    settings = make_settings(work, url)
    async with open_runtime(settings) as runtime:
        tenancy = await make_tenancy(runtime, name="bench", code="BENCH")
        source = await make_source(
            runtime,
            tenancy,
            host=LOOPBACK,
            port=port,
            user=USER,
            password=PASSWORD,
            workingDirectory="/in",
            schedule=YEARLY,
        )
        return BenchSource(tenancy.tenant_id, source.id, tenancy)


def headwater_run(url: str, source_id: int) -> tuple[float, dict[str, object], float]:
    """A cold ``headwater run``: the process starts, imports its modules, connects, then imports. Returns
    the seconds, what it printed with --json and its peak RSS in MB."""
    started = time.perf_counter()
    done = run_watching_memory([str(HEADWATER), "run", str(source_id), "--json"], env=worker_env(url))
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"headwater run failed:\n{done.stdout}\n{done.stderr}")
    return elapsed, json.loads(done.stdout.strip().splitlines()[-1]), done.peak_rss_mb


async def warm_worker_run(url: str, work: Path, source: BenchSource) -> tuple[float, int, float]:
    """A warm ``headwater worker``: started and registered first; then the run is queued as "run now"
    queues it, and timed until the runs table says it ended. Returns the seconds, the rows imported and
    the worker's peak RSS in MB during the import (read before it stops)."""
    settings = make_settings(work, url)
    worker = WorkerProcess(url, work / "worker.log", concurrency=1)
    try:
        async with open_runtime(settings) as runtime, build_app(settings).open_async() as queue:

            async def registered() -> bool:
                return bool(await scalar(runtime, "SELECT count(*) FROM procrastinate.procrastinate_workers"))

            async def ended() -> bool:
                finished = (
                    "SELECT count(*) FROM runs WHERE data_source_id = :source AND finished_at IS NOT NULL"
                )
                return bool(await scalar(runtime, finished, source=source.source_id))

            await wait_until(registered, "the worker registered", workers=[worker], interval=0.02)
            reset_peak_rss(worker.pid)
            started = time.perf_counter()
            await defer_run(queue, source.tenant_id, source.source_id, "manual")
            await wait_until(ended, "the run ended", timeout=3600, workers=[worker], interval=0.02)
            seconds = time.perf_counter() - started
            rows = await scalar(
                runtime, "SELECT rows_ok FROM runs WHERE data_source_id = :source", source=source.source_id
            )
        peak_rss_mb = peak_rss(worker.pid)
    finally:
        worker.stop()
    return seconds, int(rows or 0), peak_rss_mb


async def warm_serve_run(url: str, work: Path, source: BenchSource) -> tuple[float, int, float]:
    """SQLite's warm importer, a ``headwater serve`` (which runs imports itself, there being no worker
    queue): started and ready first; then "run now" is asked of the partner API and the run timed until
    the runs table says it ended. Returns the seconds, the rows imported and serve's peak RSS in MB
    during the import."""
    env = {**worker_env(url), "HEADWATER_RUN_IMPORTS": "true"}
    tenancy = source.tenancy
    async with open_runtime(make_settings(work, url)) as runtime:
        with serve_process(env, work / "serve.log", cwd=work) as served:
            # serve's first start migrates the store, which costs more memory than the import.
            reset_peak_rss(served.process.pid)
            async with httpx.AsyncClient(base_url=served.url, timeout=60) as http:
                started = time.perf_counter()
                asked = await http.post(
                    f"/api/v4/partner/datasources/{source.source_id}/run",
                    headers={
                        "Thalamus-Touchpoint": tenancy.touchpoint_code,
                        "Thalamus-Token": tenancy.touchpoint_token,
                    },
                    auth=(tenancy.principal, tenancy.password),
                )
            if asked.status_code != 202 or "id" not in asked.json()["run"]:
                raise SystemExit(f"run now was not queued: {asked.status_code} {asked.text}")
            run_id = asked.json()["run"]["id"]

            async def ended() -> bool:
                finished = "SELECT count(*) FROM runs WHERE id = :run AND finished_at IS NOT NULL"
                return bool(await scalar(runtime, finished, run=run_id))

            await wait_until(ended, "the run ended", timeout=3600, interval=0.02)
            seconds = time.perf_counter() - started
            peak_rss_mb = peak_rss(served.process.pid)
        rows = await scalar(runtime, "SELECT rows_ok FROM runs WHERE id = :run", run=run_id)
    return seconds, int(rows or 0), peak_rss_mb


def psql_copy(
    dsn: str, csv: Path, table: str, definition: str, *, columns: str = "", indexes: tuple[str, ...] = ()
) -> float:
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"CREATE TABLE {table} {definition}")
        for index in indexes:
            connection.execute(index)
    started = time.perf_counter()
    subprocess.run(
        ["psql", dsn, "-q", "-c", f"\\copy {table}{columns} FROM '{csv}' WITH (FORMAT csv, HEADER true)"],
        check=True,
    )
    return time.perf_counter() - started


PLAIN = (
    "(sale_date date, transaction_id text, quantity numeric, amount numeric, partner_sku_code text,"
    " currency text)"
)
# The same columns with exactly the keys headwater's partner_sales table keeps (migration 0009): the
# (source, transaction, sku) primary key that decides what is skipped, a BRIN index on the file for
# reprocessing, the (tenant, id) btree, with the file, that pages in id order, and the (source, id) btree
# that pages one source.
KEYED = (
    "(id bigint GENERATED BY DEFAULT AS IDENTITY, tenant_id bigint DEFAULT 1, data_source_id bigint DEFAULT 1,"
    " import_file_id bigint DEFAULT 1, sale_date date, transaction_id varchar(200), quantity numeric(20,6),"
    " amount numeric(20,6), partner_sku_code varchar(200), currency varchar(10),"
    " PRIMARY KEY (data_source_id, transaction_id, partner_sku_code))"
)
KEYED_INDEXES = (
    "CREATE INDEX ON keyed_sales USING brin (import_file_id)",
    "CREATE UNIQUE INDEX ON keyed_sales (tenant_id, id) INCLUDE (import_file_id)",
    "CREATE INDEX ON keyed_sales (data_source_id, id) INCLUDE (tenant_id, import_file_id)",
)
KEYED_COLUMNS = "(sale_date, transaction_id, quantity, amount, partner_sku_code, currency)"


# SQLite: the same plain table, its columns in the file's order, so that .import fills it directly.
SQLITE_PLAIN = (
    "CREATE TABLE raw_sales (sale_date DATE, transaction_id TEXT, quantity NUMERIC, amount NUMERIC,"
    " partner_sku_code TEXT, currency TEXT)"
)
# The file's columns in partner_sales, and the columns headwater fills that the file does not name.
# The shell maps a file onto a table by position, so these rows go through a view's trigger (into the
# plain table, the same trigger was as fast as a direct .import, within the machine's noise).
SQLITE_FIELDS = ("sale_date", "transaction_id", "quantity", "amount", "sku", "currency")
SQLITE_FILLED = {
    "partner_sku_code": "new.sku",
    "total": "new.quantity * new.amount",
    "tenant_id": "1",
    "data_source_id": "1",
    "import_file_id": "1",
    "line": "0",
}


def store_schema(store: Path, table: str) -> list[str]:
    """The statements that made ``table`` and its indexes in the store: its keys as the migrations left
    them. The index SQLite makes for a key itself has no statement; the table's creates it again."""
    with closing(sqlite3.connect(store)) as connection:
        rows = connection.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type != 'table'",
            (table,),
        ).fetchall()
    if not rows:
        raise SystemExit(f"{store} has no table {table}")
    return [sql for (sql,) in rows]


class Measured(NamedTuple):
    seconds: float  # the import, end to end, by a warm process (PostgreSQL: a worker; SQLite: serve)
    imported: int  # rows imported
    peak_rss_mb: float  # of the warm headwater process, during the import
    cold_seconds: float  # the same file by a cold ``headwater run``, into a second store
    plain_seconds: float  # the bulk loader into a plain table
    keyed_seconds: float  # the bulk loader into a table with headwater's keys
    cold_peak_rss_mb: float  # of the cold ``headwater run``, start to end
    # PostgreSQL: ``psql \copy`` of the rows headwater sends (its columns, its CSV) into its own table
    own_rows_seconds: float | None = None


def measure_postgres(work: Path, csv: Path, port: int) -> Measured:
    with scratch_database() as name:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        source_id = asyncio.run(create_source(url, work, port)).source_id
        cold_seconds, _, cold_peak_rss_mb = headwater_run(url, source_id)
    with scratch_database() as name:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        source = asyncio.run(create_source(url, work, port))
        seconds, imported, peak_rss_mb = asyncio.run(warm_worker_run(url, work, source))
        dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
        plain_seconds = psql_copy(dsn, csv, "raw_sales", PLAIN)
        keyed_seconds = psql_copy(
            dsn, csv, "keyed_sales", KEYED, columns=KEYED_COLUMNS, indexes=KEYED_INDEXES
        )
        own_rows_seconds = psql_copy_own_rows(dsn, csv, work / "payload.csv")
    return Measured(
        seconds,
        imported,
        peak_rss_mb,
        cold_seconds,
        plain_seconds,
        keyed_seconds,
        cold_peak_rss_mb,
        own_rows_seconds,
    )


def measure_sqlite(work: Path, csv: Path, port: int) -> Measured:
    if not shutil.which(SQLITE3):
        raise SystemExit(f"--database sqlite needs the {SQLITE3} shell on PATH for its baselines")
    store = work / "headwater.db"
    url = f"sqlite+aiosqlite:///{store}"
    source_id = asyncio.run(create_source(url, work, port)).source_id
    keyed_schema = store_schema(store, "partner_sales")
    cold_seconds, summary, cold_peak_rss_mb = headwater_run(url, source_id)
    files = summary["files"]
    assert isinstance(files, list) and files, summary
    # The warm run imports the same file into a second store.
    warm_store = work / "warm" / "headwater.db"
    warm_store.parent.mkdir()
    warm_url = f"sqlite+aiosqlite:///{warm_store}"
    source = asyncio.run(create_source(warm_url, work / "warm", port))
    seconds, imported, peak_rss_mb = asyncio.run(warm_serve_run(warm_url, work / "warm", source))
    if imported != int(files[0]["rowsOk"]):
        raise SystemExit(f"the warm run imported {imported} rows, the cold one {files[0]['rowsOk']}")
    plain_seconds = sqlite_import(work / "plain.db", csv, [SQLITE_PLAIN], "raw_sales")
    keyed_seconds = sqlite_import(
        work / "keyed.db", csv, keyed_schema, "partner_sales", fields=SQLITE_FIELDS, filled=SQLITE_FILLED
    )
    return Measured(
        seconds, imported, peak_rss_mb, cold_seconds, plain_seconds, keyed_seconds, cold_peak_rss_mb
    )


# Per database: how headwater writes, and the baseline loader as the figures' labels name it.
WRITES = {
    "postgres": ("COPY", "psql \\copy", "raw COPY"),
    "sqlite": ("INSERT", "sqlite3 .import", "raw .import"),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows of the generated file (default: %(default)s)"
    )
    parser.add_argument(
        "--database",
        choices=sorted(WRITES),
        default="postgres",
        help="the store headwater imports into, and whose bulk loader is the baseline (default: %(default)s)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="headwater-bench-") as scratch:
        work = Path(scratch)
        root = work / "sftp"
        (root / "in").mkdir(parents=True)
        csv = root / "in" / "sales.csv"
        write_sales(csv, args.rows)
        size_mb = csv.stat().st_size / 1e6
        server = _SftpServer(root, asyncssh.generate_private_key("ssh-ed25519"), [])
        server.start()
        try:
            measure = measure_sqlite if args.database == "sqlite" else measure_postgres
            measured = measure(work, csv, server.port)
        finally:
            server.stop()

    write, loader, raw = WRITES[args.database]
    headwater_rate = args.rows / measured.seconds
    plain_rate = args.rows / measured.plain_seconds
    keyed_rate = args.rows / measured.keyed_seconds
    print(
        f"file: {args.rows:,} rows, {size_mb:.1f} MB; imported {measured.imported:,} rows ({args.database})"
    )
    who = "warm headwater serve" if args.database == "sqlite" else "warm headwater worker"
    lines: list[tuple[str, float, float]] = [
        (f"{who} (SFTP -> parse -> validate -> {write})", measured.seconds, headwater_rate),
        (
            "cold headwater run (process start included)",
            measured.cold_seconds,
            args.rows / measured.cold_seconds,
        ),
        (f"{loader} (local file -> plain table)", measured.plain_seconds, plain_rate),
        (f"{loader} (local file -> table with headwater's keys)", measured.keyed_seconds, keyed_rate),
    ]
    if measured.own_rows_seconds is not None:
        own = ("psql \\copy (headwater's own rows -> partner_sales as migrated)", measured.own_rows_seconds)
        lines.append((*own, args.rows / measured.own_rows_seconds))
    width = max(len(label) for label, _, _ in lines) + 1
    for label, elapsed, rate in lines:
        print(f"{label + ':':<{width}} {elapsed:8.2f} s  {rate:12,.0f} rows/s")
    print(f"ratio headwater / {raw} into a plain table: {headwater_rate / plain_rate:.2f}")
    print(f"ratio headwater / {raw} into a table with the same keys: {headwater_rate / keyed_rate:.2f}")
    cold_ratio = measured.keyed_seconds / measured.cold_seconds
    print(f"ratio cold headwater run / {raw} into a table with the same keys: {cold_ratio:.2f}")
    if measured.own_rows_seconds is not None:
        ratio = measured.own_rows_seconds / measured.seconds
        print(f"ratio headwater / {raw} of its own rows into its own table: {ratio:.2f}")
    print(f"peak RSS of the warm headwater process during the import: {measured.peak_rss_mb:.0f} MB")
    print(f"peak RSS of the cold headwater run: {measured.cold_peak_rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
