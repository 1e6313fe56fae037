"""Where the time of a partner sales import goes: parsing alone, parsing and writing, raw COPY.

    .venv/bin/python benchmarks/processors_profile.py --rows 1000000 [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Generates an N-row sales CSV, then times: ``pyarrow.csv.read_csv`` alone; the sales processor alone
(parse and validate); the processor plus ``write_batch`` into a fresh, migrated PostgreSQL database
(one transaction, as the import engine does); and ``psql \\copy`` of the same file into a plain table.
Prints rows/s and the ratios. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import pyarrow.csv as pa_csv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.records import add_owner

from headwater.domain import ProcessorType
from headwater.ingest.processors import processor_for
from headwater.ingest.processors.base import ProcessOptions
from headwater.store import migrate
from headwater.store.database import Database
from headwater.store.records import count_records, write_batch

HEADER = "saleDate,transactionId,quantity,amount,partnerSkuCode,currency,salesOrigin,vendorId\n"


def generate(path: Path, rows: int) -> None:
    rnd = random.Random(7)
    with path.open("w") as out:
        out.write(HEADER)
        for i in range(rows):
            out.write(
                f"2024-{1 + i % 12:02d}-{1 + i % 28:02d},T{i:010d},{1 + i % 7},"
                f"{rnd.randint(100, 99_999) / 100},SKU-{i % 5000:05d},EUR,STORE-{i % 40},V{i % 300}\n"
            )


def timed(label: str, rows: int, seconds: float) -> float:
    print(f"{label:<34} {seconds:8.2f} s  {rows / seconds:>12,.0f} rows/s")
    return rows / seconds


def parse_only(path: Path) -> int:
    _, batches = processor_for(ProcessorType.PARTNER_SALES).read(path, ProcessOptions())
    return sum(batch.records.num_rows for batch in batches)


async def parse_and_write(url: str, path: Path) -> int:
    db = Database(url)
    try:
        async with db.session() as session:
            owner = await add_owner(session, [str(path)], source="bench")
        async with db.session() as session:
            _, batches = processor_for(ProcessorType.PARTNER_SALES).read(path, ProcessOptions())
            inserted = 0
            for batch in batches:
                result = await write_batch(
                    session,
                    ProcessorType.PARTNER_SALES,
                    owner.tenant_id,
                    owner.source_id,
                    owner.file_ids[0],
                    batch.records,
                )
                inserted += result.inserted
        async with db.session() as session:
            assert await count_records(session, owner.tenant_id, ProcessorType.PARTNER_SALES) == inserted
        return inserted
    finally:
        await db.dispose()


def psql_copy(dsn: str, path: Path) -> None:
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS bench_plain_sales")
        connection.execute(
            "CREATE TABLE bench_plain_sales (sale_date date, transaction_id text, quantity numeric, "
            "amount numeric, partner_sku_code text, currency text, sales_origin text, vendor_id text)"
        )
    command = f"\\copy bench_plain_sales FROM '{path}' WITH (FORMAT csv, HEADER true)"
    subprocess.run(["psql", dsn, "-q", "-c", command], check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--pg", default=os.environ.get("HEADWATER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "sales.csv"
        generate(path, args.rows)
        print(f"{args.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB")

        started = time.perf_counter()
        pa_csv.read_csv(path)
        arrow = timed("pyarrow.csv.read_csv", args.rows, time.perf_counter() - started)

        started = time.perf_counter()
        assert parse_only(path) == args.rows
        parse = timed("sales processor (parse+validate)", args.rows, time.perf_counter() - started)

        name = f"headwater_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        dsn = args.pg.rsplit("/", 1)[0] + f"/{name}"
        try:
            migrate.upgrade(dsn.replace("postgresql://", "postgresql+asyncpg://"))
            started = time.perf_counter()
            written = asyncio.run(
                parse_and_write(dsn.replace("postgresql://", "postgresql+asyncpg://"), path)
            )
            assert written == args.rows, written
            write = timed("processor + write_batch (PG)", args.rows, time.perf_counter() - started)

            started = time.perf_counter()
            psql_copy(dsn, path)
            copy = timed("psql \\copy (plain table)", args.rows, time.perf_counter() - started)
        finally:
            with psycopg.connect(args.pg, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"parse / read_csv: {parse / arrow:.2f}   import / psql copy: {write / copy:.2f}")
        print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
