"""How imports scale with worker processes: 1, 2 and 4 ``headwater worker`` processes, same 40 files.

    .venv/bin/python benchmarks/scale_workers.py [--files 40] [--rows 20000] [--sources 10] [--workers 1,2,4]

Starts the SFTP test server on loopback with ``--files`` partner sales CSVs spread over ``--sources``
sources, creates a scratch PostgreSQL database, and for each worker count: starts that many worker
processes (concurrency 1 each), waits until they are up, enqueues one run per source and times until every
file is imported. Prints files/s and rows/s beside the 1-worker figure. Not a test: figures depend on the
machine (on 2 cores, PostgreSQL and the workers share them).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import PG_ADMIN_DSN, _truncate_postgres, make_settings
from tests.integration.worker_support import (
    WorkerProcess,
    clear_queue,
    create_sftp_source,
    provision_tenant,
    queue_counts,
    sales_csv,
    scalar,
    wait_until,
)
from tests.servers import LOOPBACK, PASSWORD, USER, _SftpServer

from headwater.ingest.jobs.queue import defer_run
from headwater.ingest.jobs.tasks import build_app
from headwater.runtime import Runtime, open_runtime, prepare_store


@dataclass(frozen=True)
class SftpEndpoint:
    host: str
    port: int
    user: str
    password: str


def start_sftp(root: Path) -> tuple[_SftpServer, SftpEndpoint]:
    root.mkdir(parents=True)
    server = _SftpServer(root, asyncssh.generate_private_key("ssh-ed25519"), [])
    server.start()
    return server, SftpEndpoint(host=LOOPBACK, port=server.port, user=USER, password=PASSWORD)


async def measure(
    url: str, runtime: Runtime, sftp: SftpEndpoint, workers: int, sources: int, files: int, logs: Path
) -> float:
    """Seconds from enqueueing the runs until every file is imported."""
    clear_queue(url)
    _truncate_postgres(url)
    started = [WorkerProcess(url, logs / f"w{workers}-{n}.log", concurrency=1) for n in range(workers)]
    try:

        async def all_up_and_idle() -> bool:
            up = await scalar(runtime, "SELECT count(*) FROM procrastinate.procrastinate_workers")
            counts = await queue_counts(url)
            return bool(up == workers and not counts.get("todo") and not counts.get("doing"))

        await wait_until(all_up_and_idle, "workers up", timeout=120, workers=started)
        tenant_id = await provision_tenant(runtime)
        source_ids = [await create_sftp_source(runtime, tenant_id, sftp, f"/s{n}") for n in range(sources)]
        async with build_app(runtime.settings).open_async() as queue:
            began = time.perf_counter()
            for source_id in source_ids:
                await defer_run(queue, tenant_id, source_id, "manual")

            async def done() -> bool:
                imported = await scalar(runtime, "SELECT count(*) FROM import_files WHERE state = 'imported'")
                return bool(imported == files)

            await wait_until(done, "every file imported", timeout=1800, workers=started)
            return time.perf_counter() - began
    finally:
        for worker in started:
            worker.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--rows", type=int, default=20_000, help="rows per file")
    parser.add_argument("--sources", type=int, default=10, help="the files are spread over this many sources")
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    scratch = Path(tempfile.mkdtemp(prefix="headwater-bench-"))
    name = f"headwater_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    server, sftp = start_sftp(scratch / "sftp")
    os.environ["HEADWATER_ALLOW_PRIVATE_HOSTS"] = "true"
    try:
        prepare_store(url)
        for f in range(args.files):
            target = scratch / "sftp" / f"s{f % args.sources}" / f"sales-{f:03d}.csv"
            target.parent.mkdir(exist_ok=True)
            target.write_bytes(sales_csv(f"f{f}", args.rows))
        total_rows = args.files * args.rows
        print(f"{args.files} files x {args.rows:,} rows over {args.sources} sources, {os.cpu_count()} CPUs")
        print(f"{'workers':>7} {'seconds':>8} {'files/s':>8} {'rows/s':>10} {'vs 1 worker':>12}")
        baseline: float | None = None
        async with open_runtime(make_settings(scratch, url), migrate_first=False) as runtime:
            for workers in counts:
                seconds = await measure(url, runtime, sftp, workers, args.sources, args.files, scratch)
                rows_per_second = total_rows / seconds
                baseline = baseline or rows_per_second
                print(
                    f"{workers:>7} {seconds:>8.2f} {args.files / seconds:>8.2f} "
                    f"{rows_per_second:>10,.0f} {rows_per_second / baseline:>11.2f}x"
                )
    finally:
        server.stop()
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
