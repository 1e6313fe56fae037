"""Requests per second and p99 latency of the integration API, beside a bare Starlette app.

    .venv/bin/python benchmarks/api_throughput.py [--requests 2000] [--workers 16] [--wrk SECONDS]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/DB]

Seeds a tenant with 5,000 partner sales (SQLite in a temporary folder unless ``--database-url``),
serves headwater with uvicorn on 127.0.0.1 and, in the same run and with the same uvicorn settings, a
bare Starlette app that answers a 1000-element JSON array of the same rows. A loopback load generator
(httpx, N concurrent workers, a fixed number of requests) measures ``GET /prod/partnerSales?maxNumRows=1000``
and ``POST /prod/dataSources`` on headwater and ``GET /rows`` on the bare app, and prints each one's
RPS and p50/p99 latency, with headwater's RPS as a ratio of the bare app's, and the CPU each request
cost the served process and, on PostgreSQL, the database's processes (from ``/proc``): the load
generator, the server and the database share the machine's cores, so requests/s alone says little of
what a request costs. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.records import add_tenant, sale_values, seed_sales  # noqa: E402
from tests.support.services import free_port  # noqa: E402

from benchmarks.served import (  # noqa: E402
    FTP_SOURCE,
    add_database_option,
    database_url_of,
    integration_headers,
    served_env,
    serving,
    uvicorn_options,
    wait_until_up,
)
from headwater.access import areakeys, oauth  # noqa: E402
from headwater.api.app import create_app  # noqa: E402
from headwater.runtime import open_runtime  # noqa: E402
from headwater.settings import Settings  # noqa: E402

ROWS = 5000
LOG_LEVEL = "warning"


# --- the two apps, built by uvicorn in its own process -----------------------------------------


def headwater_app() -> Any:
    """uvicorn factory: headwater configured from HEADWATER_* variables."""
    return create_app(Settings())


def _row(n: int) -> dict[str, Any]:
    """The ``n``-th seeded sale as the integration API answers it."""
    values = sale_values(n)
    return {
        "id": n + 1,
        "dataSourceId": 1,
        "importFileId": 1,
        "line": values["line"],
        "saleDate": values["sale_date"].isoformat(),
        "transactionId": values["transaction_id"],
        "quantity": int(values["quantity"]),
        "amount": float(values["amount"]),
        "total": float(values["total"]),
        "sku": values["sku"],
        "partnerSkuCode": values["partner_sku_code"],
        "currency": values["currency"],
    }


def bare_app() -> Starlette:
    """uvicorn factory: the baseline, a 1000-element JSON array serialized on every request."""
    rows = [_row(n) for n in range(1000)]

    async def listing(_request: Request) -> JSONResponse:
        return JSONResponse(rows)

    return Starlette(routes=[Route("/rows", listing)])


# --- wrk, a load generator in C: it leaves the cores to the servers -----------------------------

# Unique source names per wrk thread (each has its own Lua state): "wrk <thread>-<n>".
CREATE_SCRIPT = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
n = 0
function request()
  n = n + 1
  return wrk.format("POST", nil, nil, string.format(BODY, id, n))
end
"""
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(
    url: str, *, seconds: int, connections: int, headers: dict[str, str], script: str = ""
) -> tuple[float, float]:
    """``wrk -t2`` against ``url`` for ``seconds``: requests/s and the p99 latency in ms. Any answer
    other than 2xx fails the benchmark."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        command = [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            *(["-s", lua.name] if script else []),
        ]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        done = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    if "Non-2xx" in done.stdout or "Socket errors" in done.stdout:
        raise RuntimeError(f"wrk {url}: failed requests\n{done.stdout}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", done.stdout)
    if rps is None or p99 is None:
        raise RuntimeError(f"wrk {url}: unexpected output\n{done.stdout}")
    return float(rps.group(1)), float(p99.group(1)) * _UNIT_MS[p99.group(2)]


def create_script() -> str:
    body = json.dumps({**FTP_SOURCE, "name": "wrk %d-%d"})
    return f"BODY = {json.dumps(body)}\n{CREATE_SCRIPT}"


# --- set-up --------------------------------------------------------------------------------------


@dataclass
class Credentials:
    client_id: str
    secret: str
    api_key: str


async def seed(settings: Settings) -> Credentials:
    async with open_runtime(settings) as runtime:
        async with runtime.db.session() as session:
            tenant_id = await add_tenant(session, "bench", touchpoint="shop")
            await seed_sales(session, tenant_id, ROWS)
            client = await oauth.create_client(session, "bench")
            # Limits far above what the benchmark sends: it measures serving, not refusing.
            key = await areakeys.create_area_key(
                session, runtime.box, "bench", per_second=10_000_000, per_day=1_000_000_000
            )
        if runtime.db.is_postgres:
            # The statistics autovacuum would gather within a minute: without them the planner takes
            # the freshly loaded tables for nearly empty and pages by nested loops over every row.
            async with runtime.db.engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.exec_driver_sql("ANALYZE")
        return Credentials(client.client_id, client.secret, key.key)


# --- load ------------------------------------------------------------------------------------------


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User and system CPU each process has used so far (Linux ``/proc``)."""
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # a process that ended meanwhile (a database backend)
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return used


def postgres_pids() -> list[int]:
    """The local PostgreSQL server's processes, whose CPU the listing's pages cost too."""
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                pids.append(int(comm.parent.name))
        except OSError:
            continue
    return pids


class CpuMeter:
    """CPU per request of the served app's process and, on PostgreSQL, of the database's processes:
    on a machine the load generator shares, the figure requests/s cannot show alone."""

    def __init__(self, server_pid: int, postgres: bool) -> None:
        self.server_pid = server_pid
        self.postgres = postgres

    def read(self) -> tuple[dict[int, float], dict[int, float] | None]:
        database = cpu_seconds(postgres_pids()) if self.postgres else None
        return cpu_seconds([self.server_pid]), database


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two readings by the processes alive at the second: one started meanwhile counts
    whole, one that ended meanwhile is missing. With more concurrent requests than headwater's pool keeps
    (10), the pool closes its overflow connections as they come back, and their backends' CPU goes
    missing from the database's figure (measured: 0.4 ms per list request instead of about 4)."""
    return sum(used - before.get(pid, 0.0) for pid, used in after.items())


@dataclass
class Figures:
    label: str
    requests: int
    seconds: float
    latencies: list[float]
    server_cpu: float = 0.0  # seconds, over the measured requests
    database_cpu: float | None = None
    client_cpu: float = 0.0  # seconds of the load generator's own process
    answer_bytes: int = 0  # of the last answer's body

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def line(self, baseline: Figures | None = None) -> str:
        ratio = f"{self.rps / baseline.rps:6.2f}x" if baseline else "  1.00x"
        server = self.server_cpu / self.requests * 1000
        database = "" if self.database_cpu is None else f"{self.database_cpu / self.requests * 1000:8.2f}"
        client = self.client_cpu / self.requests * 1000
        return (
            f"{self.label:<42} {self.rps:9.1f} {self.percentile(50):8.2f} {self.percentile(99):8.2f} {ratio}"
            f" {server:8.2f}{database} {client:8.2f} {self.answer_bytes:9,}"
        )


async def load(
    label: str,
    make_request: Callable[[httpx.AsyncClient, int], Any],
    *,
    requests: int,
    workers: int,
    check: Callable[[httpx.Response], bool],
    cpu: CpuMeter,
) -> Figures:
    latencies: list[float] = []
    issued = 0
    answer_bytes = 0
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)

    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        for n in range(min(20, requests)):  # warm up connections and caches
            response = await make_request(http, -1 - n)
            shown = response.json()
            if not check(response) or (isinstance(shown, list) and len(shown) != 1000):
                raise RuntimeError(f"{label}: unexpected answer {response.status_code} {response.text[:200]}")

        async def worker() -> None:
            nonlocal issued, answer_bytes
            while issued < requests:
                number = issued
                issued += 1
                started = time.perf_counter()
                response = await make_request(http, number)
                latencies.append(time.perf_counter() - started)
                answer_bytes = len(response.content)
                if not check(response):
                    raise RuntimeError(
                        f"{label}: unexpected answer {response.status_code} {response.text[:200]}"
                    )

        server_before, database_before = cpu.read()
        client_before = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        seconds = time.perf_counter() - started
        client_cpu = time.process_time() - client_before
        server_after, database_after = cpu.read()
    database = (
        None
        if database_before is None or database_after is None
        else cpu_between(database_before, database_after)
    )
    server = cpu_between(server_before, server_after)
    return Figures(label, requests, seconds, latencies, server, database, client_cpu, answer_bytes)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="requests per measurement")
    parser.add_argument("--workers", type=int, default=16, help="concurrent connections")
    parser.add_argument(
        "--wrk",
        type=int,
        default=0,
        metavar="SECONDS",
        help="also measure each endpoint with wrk -t2 for this long (wrk must be on PATH)",
    )
    add_database_option(parser)
    options = parser.parse_args()
    if options.wrk and not shutil.which("wrk"):
        raise SystemExit("--wrk needs wrk on PATH")

    with tempfile.TemporaryDirectory(prefix="headwater-bench-") as folder:
        database_url = database_url_of(options.database_url, folder)
        env = served_env(database_url, HEADWATER_ALLOW_PRIVATE_HOSTS="true", HEADWATER_LOG_LEVEL="WARNING")
        settings = Settings(
            database_url=database_url,
            secret_key=env["HEADWATER_SECRET_KEY"],
            run_imports=False,
            allow_private_hosts=True,
        )
        credentials = await seed(settings)
        headwater_port, bare_port = free_port(), free_port()
        with (
            serving(
                "benchmarks.api_throughput:headwater_app", headwater_port, env, log_level=LOG_LEVEL
            ) as headwater_server,
            serving("benchmarks.api_throughput:bare_app", bare_port, env, log_level=LOG_LEVEL) as bare_server,
        ):
            postgres = settings.is_postgres
            headwater_cpu = CpuMeter(headwater_server.pid, postgres)
            base = f"http://127.0.0.1:{headwater_port}"
            bare = f"http://127.0.0.1:{bare_port}"
            await wait_until_up(base + "/prod/openapi.json")
            await wait_until_up(bare + "/rows")
            async with httpx.AsyncClient() as http:
                headers = await integration_headers(
                    http, credentials.client_id, credentials.secret, credentials.api_key, base
                )

            # Cheap checks, so that the load generator spends its time sending, not parsing; the
            # warm-up requests of each measurement are checked in full.
            def is_array(response: httpx.Response) -> bool:
                return response.status_code == 200 and response.content.startswith(b"[{")

            def is_created(response: httpx.Response) -> bool:
                return response.status_code == 200 and response.content.startswith(b'{"id":')

            run = {"requests": options.requests, "workers": options.workers}
            baseline = await load(
                "bare Starlette GET /rows (1000 rows)",
                lambda http, _n: http.get(bare + "/rows"),
                check=is_array,
                cpu=CpuMeter(bare_server.pid, postgres),
                **run,
            )
            listing = await load(
                "GET /prod/partnerSales?maxNumRows=1000",
                lambda http, _n: http.get(
                    base + "/prod/partnerSales", params={"maxNumRows": 1000}, headers=headers
                ),
                check=is_array,
                cpu=headwater_cpu,
                **run,
            )
            creating = await load(
                "POST /prod/dataSources",
                lambda http, n: http.post(
                    base + "/prod/dataSources",
                    content=json.dumps({**FTP_SOURCE, "name": f"bench {n}"}),
                    headers={**headers, "Content-Type": "application/json"},
                ),
                check=is_created,
                cpu=headwater_cpu,
                **run,
            )

            by_wrk: list[tuple[str, tuple[float, float]]] = []
            if options.wrk:
                measured = {"seconds": options.wrk, "connections": options.workers}
                by_wrk += [
                    ("bare Starlette GET /rows (1000 rows)", wrk(bare + "/rows", headers={}, **measured)),
                    (
                        "GET /prod/partnerSales?maxNumRows=1000",
                        wrk(base + "/prod/partnerSales?maxNumRows=1000", headers=headers, **measured),
                    ),
                    (
                        "POST /prod/dataSources",
                        wrk(
                            base + "/prod/dataSources",
                            headers={**headers, "Content-Type": "application/json"},
                            script=create_script(),
                            **measured,
                        ),
                    ),
                ]

    store = "PostgreSQL" if settings.is_postgres else "SQLite"
    print(
        f"\nuvicorn {' '.join(uvicorn_options(LOG_LEVEL))}; {options.workers} workers x {options.requests} requests; {store}"
    )
    database = f" {'db CPU':>8}" if settings.is_postgres else ""
    columns = f"{'app CPU':>8}{database} {'load CPU':>8} {'bytes':>9}"
    print(f"{'':<42} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs bare':>7} {columns}")
    print(baseline.line())
    print(listing.line(baseline))
    print(creating.line(baseline))
    print(
        f"median latency ratio, list/bare: {statistics.median(listing.latencies) / statistics.median(baseline.latencies):.2f}"
    )
    print(
        "CPU columns: milliseconds of CPU per request, of the served app's process, (PostgreSQL) the database's"
        " and the load generator's; bytes: one answer's body"
    )
    if options.wrk:
        bare_rps = by_wrk[0][1][0]
        print(f"\nwrk -t2 -c{options.workers} -d{options.wrk}s, same servers:")
        print(f"{'':<42} {'req/s':>9} {'p99 ms':>8} {'vs bare':>7}")
        for label, (rps, p99) in by_wrk:
            print(f"{label:<42} {rps:9.1f} {p99:8.2f} {rps / bare_rps:6.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
