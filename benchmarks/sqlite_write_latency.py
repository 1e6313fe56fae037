"""API writes on SQLite while a large file imports: latency of the writes, rows/s of the import.

    .venv/bin/python benchmarks/sqlite_write_latency.py [--rows 1000000] [--workers 4] [--in-process]
        [--baseline PATH_TO_ANOTHER_CHECKOUT]

Seeds a SQLite store in a temporary folder (a tenant, an integration client, an area key and a
ChartMogul API key), serves headwater with uvicorn on 127.0.0.1 (imports off), and imports an N-row
partner sales CSV in a separate process, as ``headwater run`` or an upload would. Meanwhile N workers
create data sources, in turn ``POST /v1/data_sources`` and ``POST /prod/dataSources``, until the import
ends. Prints p50/p99/max of those writes, how many failed (anything but 200/201) and the import's
rows/s, alone and under the writes.

``--in-process`` imports the file the way the embedded deployment does: as an upload to the served
process itself (``POST /prod/dataSources/{id}/importFiles``), timed by its client, its transactions
taking the writer in turn with the API's.

``--baseline`` measures the same with the code of another checkout (its ``src``) in the same run, on
a fresh store seeded alike: the figure to compare with. Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))  # seed with this checkout's schema, whatever is installed

from tests.support.records import add_custom_source, add_tenant  # noqa: E402
from tests.support.services import free_port  # noqa: E402

from benchmarks.import_throughput import write_sales  # noqa: E402
from benchmarks.served import FTP_SOURCE, integration_headers, serving, wait_until_up  # noqa: E402
from headwater.access import apikeys, areakeys, oauth  # noqa: E402
from headwater.domain import ProcessorType  # noqa: E402
from headwater.runtime import open_runtime  # noqa: E402
from headwater.settings import Settings  # noqa: E402

PAUSE = 0.02  # between one worker's requests: a steady stream of writes, not a flood
REFERENCE_SECONDS = 15.0

# The import, in its own process: headwater's own upload pipeline, timed.
IMPORTER = """
import asyncio, json, sys, time
from contextlib import asynccontextmanager
from headwater.runtime import open_runtime
from headwater.settings import Settings
from headwater.ingest.uploads import import_upload

async def main(tenant_id, source_id, path):
    async with open_runtime(Settings()) as runtime:
        # Every transaction of the import, timed: the longest is how long it held the one writer.
        transactions = []
        plain = runtime.db.session

        @asynccontextmanager
        async def timed():
            began = time.perf_counter()
            async with plain() as session:
                yield session
            transactions.append(time.perf_counter() - began)

        runtime.db.session = timed
        started = time.perf_counter()
        with open(path, "rb") as data:
            row = await import_upload(
                runtime, tenant_id, source_id=source_id, name="sales.csv", processor_type=None, data=data
            )
        seconds = time.perf_counter() - started
        print(json.dumps({"seconds": seconds, "rows": row.rows_ok, "longest": max(transactions)}))

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))
"""


@dataclass
class Seeded:
    tenant_id: int
    source_id: int
    client_id: str
    secret: str
    area_key: str
    api_key: str


async def seed(settings: Settings) -> Seeded:
    async with open_runtime(settings) as runtime, runtime.db.session() as session:
        tenant_id = await add_tenant(session, "bench", touchpoint="shop")
        source_id = await add_custom_source(
            session, tenant_id, "uploads", processor_type=ProcessorType.PARTNER_SALES, upload_only=True
        )
        client = await oauth.create_client(session, "bench")
        area = await areakeys.create_area_key(
            session, runtime.box, "bench", per_second=10_000_000, per_day=1_000_000_000
        )
        issued = await apikeys.issue(session, runtime.box, tenant_id)
        return Seeded(tenant_id, source_id, client.client_id, client.secret, area.key, issued.key)


@dataclass
class Measured:
    label: str
    import_seconds: float
    rows: int
    longest_transaction: float | None = None  # unknown for an upload, timed from outside
    latencies: list[float] = field(default_factory=list)
    failures: dict[int, int] = field(default_factory=dict)
    first_failure: str = ""

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000

    def line(self) -> str:
        if not self.rows:
            head = f"{self.label:<44} no import; "
        else:
            longest = (
                ""
                if self.longest_transaction is None
                else f", longest transaction {self.longest_transaction * 1000:,.0f} ms"
            )
            head = (
                f"{self.label:<44} import {self.rows / self.import_seconds:>7,.0f} rows/s "
                f"({self.import_seconds:.1f} s{longest})"
            )
        if not self.latencies:
            return head
        return (
            f"{head}; "
            f"{len(self.latencies)} writes p50 {statistics.median(self.latencies) * 1000:.0f} ms "
            f"p99 {self.percentile(0.99):.0f} ms max {max(self.latencies) * 1000:.0f} ms; "
            f"failed {sum(self.failures.values())} {dict(self.failures) or ''}"
            + (f"\n    first failure: {self.first_failure}" if self.first_failure else "")
        )


def environment(code: Path, database_url: str, secret_key: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": f"{code / 'src'}{os.pathsep}{ROOT}",
        "HEADWATER_DATABASE_URL": database_url,
        "HEADWATER_SECRET_KEY": secret_key,
        "HEADWATER_RUN_IMPORTS": "false",
        "HEADWATER_LOG_LEVEL": "WARNING",
        # The benchmark measures waiting for the database, not refusals.
        "HEADWATER_ALLOW_PRIVATE_HOSTS": "true",
        "HEADWATER_CHARTMOGUL_RATE_LIMIT": "100000/second",
    }


class _Clock:
    """Stands for an importer that runs for ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds

    def poll(self) -> int | None:
        return 0 if time.monotonic() > self.ends else None


class _Uploading:
    """Stands for an importer that is an upload to the served process."""

    def __init__(self, task: asyncio.Task[tuple[float, int]]) -> None:
        self.task = task

    def poll(self) -> int | None:
        return 0 if self.task.done() else None


async def upload(base: str, seeded: Seeded, csv: Path) -> tuple[float, int]:
    """The file uploaded to the served process, which imports it before it answers: seconds, rows."""
    async with httpx.AsyncClient(base_url=base, timeout=3600) as http:
        headers = await integration_headers(http, seeded.client_id, seeded.secret, seeded.area_key)
        content = csv.read_bytes()
        started = time.perf_counter()
        response = await http.post(
            f"/prod/dataSources/{seeded.source_id}/importFiles",
            params={"name": "sales.csv"},
            content=content,
            headers={**headers, "Content-Type": "text/csv"},
        )
        seconds = time.perf_counter() - started
    if response.status_code != 200 or "rowsOk" not in response.json():
        raise RuntimeError(f"the upload gave {response.status_code} {response.text[:300]}")
    return seconds, int(response.json()["rowsOk"])


async def write_while(importer: Any, base: str, seeded: Seeded, workers: int) -> Measured:
    measured = Measured("", 0.0, 0)
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        prod = await integration_headers(http, seeded.client_id, seeded.secret, seeded.area_key)
        counter = iter(range(10**9))

        async def worker() -> None:
            while importer.poll() is None:
                n = next(counter)
                started = time.perf_counter()
                if n % 2:
                    response = await http.post(
                        "/prod/dataSources", json={**FTP_SOURCE, "name": f"bench {n}"}, headers=prod
                    )
                    ok = response.status_code == 200 and response.content.startswith(b'{"id":')
                else:
                    response = await http.post(
                        "/v1/data_sources", json={"name": f"bench {n}"}, auth=(seeded.api_key, "")
                    )
                    ok = response.status_code == 201
                measured.latencies.append(time.perf_counter() - started)
                if not ok:
                    measured.first_failure = measured.first_failure or response.text[:300]
                    measured.failures[response.status_code] = (
                        measured.failures.get(response.status_code, 0) + 1
                    )
                await asyncio.sleep(PAUSE)

        await asyncio.gather(*(worker() for _ in range(workers)))
    return measured


async def measure(
    label: str, code: Path, csv: Path, rows: int, workers: int, *, in_process: bool = False
) -> Measured:
    with tempfile.TemporaryDirectory(prefix="headwater-bench-") as folder:
        database_url = f"sqlite+aiosqlite:///{Path(folder) / 'headwater.db'}"
        secret_key = Fernet.generate_key().decode()
        seeded = await seed(Settings(database_url=database_url, secret_key=secret_key, run_imports=False))
        env = environment(code, database_url, secret_key)
        importer_command = [
            sys.executable,
            "-c",
            IMPORTER,
            str(seeded.tenant_id),
            str(seeded.source_id),
            str(csv),
        ]
        if workers == 0 and not in_process:
            done = subprocess.run(importer_command, env=env, capture_output=True, check=True)
            outcome = json.loads(done.stdout)
            return Measured(label, outcome["seconds"], outcome["rows"], outcome["longest"])
        port = free_port()
        factory = "benchmarks.api_throughput:headwater_app"
        with serving(factory, port, env, log_level="warning", cwd=Path(folder)):
            base = f"http://127.0.0.1:{port}"
            await wait_until_up(base + "/prod/openapi.json")
            if rows == 0:  # the reference: the same writes for a while, nothing imported
                measured = await write_while(_Clock(REFERENCE_SECONDS), base, seeded, workers)
                measured.label, measured.import_seconds = label, REFERENCE_SECONDS
                return measured
            if in_process:
                uploading = asyncio.create_task(upload(base, seeded, csv))
                measured = await write_while(_Uploading(uploading), base, seeded, workers)
                measured.import_seconds, measured.rows = await uploading
                measured.label = label
                if measured.rows != rows:
                    raise RuntimeError(f"the upload imported {measured.rows} rows of {rows}")
                return measured
            importer = subprocess.Popen(importer_command, env=env, stdout=subprocess.PIPE)
            measured = await write_while(importer, base, seeded, workers)
            output, _ = importer.communicate()
            outcome = json.loads(output)
            measured.label, measured.import_seconds = label, outcome["seconds"]
            measured.rows, measured.longest_transaction = outcome["rows"], outcome["longest"]
            if outcome["rows"] != rows:
                raise RuntimeError(f"the import gave {outcome}")
            return measured


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=4, help="concurrent writers during the import")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout to measure alike")
    parser.add_argument(
        "--in-process", action="store_true", help="import as an upload to the served process itself"
    )
    options = parser.parse_args()
    codes = [("this checkout", ROOT)]
    if options.baseline is not None:
        codes.insert(0, (f"baseline {options.baseline.name}", options.baseline.resolve()))
    with tempfile.TemporaryDirectory(prefix="headwater-bench-csv-") as folder:
        csv = Path(folder) / "sales.csv"
        write_sales(csv, options.rows)
        results = [await measure("API writes alone, no import", ROOT, csv, 0, options.workers)]
        print(results[0].line(), flush=True)
        where = {"in_process": options.in_process}
        for name, code in codes:
            results.append(await measure(f"{name}, import alone", code, csv, options.rows, 0, **where))
            results.append(
                await measure(f"{name}, with API writes", code, csv, options.rows, options.workers, **where)
            )
            print(results[-2].line(), flush=True)
            print(results[-1].line(), flush=True)
    importer = "an upload to the served process" if options.in_process else "a process of its own"
    print(
        f"\nSQLite; {options.rows:,} sales rows imported by {importer}; {options.workers} writers,"
        f" {PAUSE * 1000:.0f} ms apart"
    )
    for result in results:
        print(result.line())


if __name__ == "__main__":
    asyncio.run(main())
