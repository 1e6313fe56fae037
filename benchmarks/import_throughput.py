"""Import throughput: headwater pulling one partner sales CSV over SFTP into PostgreSQL, beside raw COPY.

    .venv/bin/python benchmarks/import_throughput.py [--rows 1000000]

Generates an N-row partner sales CSV, serves it from the SFTP test server on loopback, creates a scratch
PostgreSQL database, and runs ``headwater run SOURCE_ID`` in a child process (download, parse, validate,
COPY, one transaction). Then loads the same file with ``psql \\copy`` into a plain table. Prints rows/s
of both, their ratio, and the peak RSS of the headwater process. Not a test: the figures depend on the
machine, which is why the baseline is measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncssh
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import PG_ADMIN_DSN, SECRET_KEY, make_settings  # noqa: E402
from tests.servers import LOOPBACK, PASSWORD, USER, _SftpServer  # noqa: E402
from tests.support.tenants import make_source, make_tenancy  # noqa: E402

from headwater.runtime import open_runtime  # noqa: E402

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


async def create_source(url: str, work: Path, port: int) -> int:
    settings = make_settings(work, url)
    async with open_runtime(settings) as runtime:
        tenancy = await make_tenancy(runtime, name="bench", code="BENCH")
        source = await make_source(
            runtime, tenancy, host=LOOPBACK, port=port, user=USER, password=PASSWORD, workingDirectory="/in"
        )
        return source.id


def headwater_run(url: str, source_id: int, work: Path) -> tuple[float, dict[str, object]]:
    env = {
        **os.environ,
        "HEADWATER_DATABASE_URL": url,
        "HEADWATER_SECRET_KEY": SECRET_KEY,
        "HEADWATER_ALLOW_PRIVATE_HOSTS": "true",
        "HEADWATER_SECRET_KEY_FILE": str(work / "key"),
    }
    started = time.perf_counter()
    done = subprocess.run(
        [str(ROOT / ".venv/bin/headwater"), "run", str(source_id), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"headwater run failed:\n{done.stdout}\n{done.stderr}")
    return elapsed, json.loads(done.stdout.strip().splitlines()[-1])


def psql_copy(dsn: str, csv: Path) -> float:
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE raw_sales (sale_date date, transaction_id text, quantity numeric, amount numeric,"
            " partner_sku_code text, currency text)"
        )
    started = time.perf_counter()
    subprocess.run(
        ["psql", dsn, "-q", "-c", f"\\copy raw_sales FROM '{csv}' WITH (FORMAT csv, HEADER true)"],
        check=True,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    name = f"headwater_bench_{uuid.uuid4().hex[:8]}"
    with (
        tempfile.TemporaryDirectory(prefix="headwater-bench-") as scratch,
        psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin,
    ):
        work = Path(scratch)
        root = work / "sftp"
        (root / "in").mkdir(parents=True)
        csv = root / "in" / "sales.csv"
        write_sales(csv, args.rows)
        size_mb = csv.stat().st_size / 1e6
        admin.execute(f'CREATE DATABASE "{name}"')
        server = _SftpServer(root, asyncssh.generate_private_key("ssh-ed25519"), [])
        server.start()
        try:
            url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
            source_id = asyncio.run(create_source(url, work, server.port))
            seconds, summary = headwater_run(url, source_id, work)
            peak_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            copy_seconds = psql_copy(f"postgresql://postgres@127.0.0.1:5432/{name}", csv)
        finally:
            server.stop()
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    files = summary["files"]
    assert isinstance(files, list) and files, summary
    imported = files[0]["rowsOk"]
    headwater_rate = args.rows / seconds
    copy_rate = args.rows / copy_seconds
    print(f"file: {args.rows:,} rows, {size_mb:.1f} MB; imported {imported:,} rows")
    print(
        f"headwater run (SFTP -> parse -> validate -> COPY): {seconds:8.2f} s  {headwater_rate:12,.0f} rows/s"
    )
    print(
        f"psql \\copy (local file -> plain table):            {copy_seconds:8.2f} s  {copy_rate:12,.0f} rows/s"
    )
    print(f"ratio headwater / raw COPY: {headwater_rate / copy_rate:.2f}")
    print(f"peak RSS of the headwater process: {peak_rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
