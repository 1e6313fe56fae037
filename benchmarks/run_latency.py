"""How long "run now" waits before the run starts, in both modes.

    .venv/bin/python benchmarks/run_latency.py [--runs 10] [--mode embedded|distributed|both]
        [--postgres-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]

Serves headwater in-process with imports on: embedded (SQLite in a temporary folder) and distributed
(a temporary PostgreSQL database, ``serve``'s own queue worker). A partner asks ``POST
/api/v4/partner/datasources/{id}/run`` for a source whose server refuses connections at once, and the
benchmark reads the run's ``queued_at`` and ``started_at`` from the runs table; it waits for the run to
end before asking for the next. Prints, per mode, the delay from the request to the start (the wall
clock of the caller and the two stored times) beside the poll interval a run would wait for if the
runner only noticed it at its next poll. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.engine.url import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from headwater import sources  # noqa: E402
from headwater.access import credentials  # noqa: E402
from headwater.api.app import create_app  # noqa: E402
from headwater.ingest.connectors.hosts import HostPolicy  # noqa: E402
from headwater.ingest.jobs.queue import WorkerTuning  # noqa: E402
from headwater.runtime import Runtime  # noqa: E402
from headwater.settings import Settings  # noqa: E402
from headwater.store.queue_schema import libpq_conninfo  # noqa: E402
from headwater.store.tables import Run  # noqa: E402

PARTNER = "bench@example.com"
PASSWORD = "correct horse battery"


def closed_port() -> int:
    """A loopback port nobody listens on: the run starts, fails to connect at once and ends."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Sample:
    wall: float  # from sending the request to seeing started_at, on the caller's clock
    stored: float  # started_at - queued_at, as the runs table has them


async def provision(runtime: Runtime) -> tuple[dict[str, str], int]:
    async with runtime.db.session() as session:
        tenant = await credentials.create_tenant(session, "bench")
        touchpoint = await credentials.create_touchpoint(session, runtime.box, tenant.id, "bench")
        issued = await credentials.create_partner(session, tenant.id, PARTNER, password=PASSWORD)
        source = await sources.create_pull_source(
            session,
            tenant.id,
            {
                "name": "refusing server",
                "dataSourceType": "FTP",
                "authenticationType": "PASSWORD",
                "host": "127.0.0.1",
                "port": closed_port(),
                "user": "u",
                "password": "p",
                "workingDirectory": "/",
                "processorType": 25011,
                "touchpointCode": "bench",
            },
            runtime.box,
            owner_partner_id=issued.partner.id,
            hosts=HostPolicy.from_settings(runtime.settings),
        )
        return {"Thalamus-Touchpoint": "bench", "Thalamus-Token": touchpoint.token}, source.id


async def run_times(runtime: Runtime, run_id: int) -> tuple[float | None, bool]:
    """(started_at - queued_at in seconds, whether the run has ended)."""
    async with runtime.db.session() as session:
        row = (
            await session.execute(select(Run.queued_at, Run.started_at, Run.finished_at).where(Run.id == run_id))
        ).one()
    queued, started, finished = row
    delay = (started - queued).total_seconds() if started is not None and queued is not None else None
    return delay, finished is not None


async def measure(settings: Settings, runs: int) -> list[Sample]:
    app = create_app(settings)
    samples: list[Sample] = []
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        headers, source_id = await provision(runtime)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            for _ in range(runs):
                sent = time.perf_counter()
                answer = await http.post(
                    f"/api/v4/partner/datasources/{source_id}/run",
                    headers=headers,
                    auth=httpx.BasicAuth(PARTNER, PASSWORD),
                )
                if answer.status_code != 202 or answer.json()["run"]["status"] != "queued":
                    raise RuntimeError(f"run not queued: {answer.status_code} {answer.text[:200]}")
                run_id = answer.json()["run"]["id"]
                wall: float | None = None
                deadline = sent + 120
                while True:
                    stored, ended = await run_times(runtime, run_id)
                    if stored is not None and wall is None:
                        wall = time.perf_counter() - sent
                        samples.append(Sample(wall, stored))
                    if ended:
                        break
                    if time.perf_counter() > deadline:
                        raise RuntimeError(f"run {run_id} did not end within 120 s")
                    await asyncio.sleep(0.002)
    return samples


@asynccontextmanager
async def scratch_postgres(server_url: str) -> AsyncIterator[str]:
    """A PostgreSQL database of its own for the run, dropped afterwards."""
    name = f"headwater_bench_{uuid.uuid4().hex[:8]}"
    admin = libpq_conninfo(server_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settings_for(folder: Path, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=Fernet.generate_key().decode(),
        secret_key_file=folder / "headwater.key",
        temp_directory=folder,
        allow_private_hosts=True,
        run_imports=True,
        log_level="WARNING",
    )


def report(label: str, samples: list[Sample], poll: float) -> None:
    walls = sorted(s.wall * 1000 for s in samples)
    stored = sorted(s.stored * 1000 for s in samples)
    print(
        f"{label:<12} {len(samples):>4} {statistics.median(walls):9.1f} {walls[-1]:9.1f}"
        f" {statistics.median(stored):11.1f} {stored[-1]:11.1f} {poll * 1000:11.0f}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10, help="runs asked for per mode")
    parser.add_argument("--mode", choices=["embedded", "distributed", "both"], default="both")
    parser.add_argument(
        "--postgres-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="server for the distributed mode (a scratch database is made on it)",
    )
    options = parser.parse_args()
    results: list[tuple[str, list[Sample], float]] = []
    with tempfile.TemporaryDirectory(prefix="headwater-latency-") as folder:
        if options.mode in ("embedded", "both"):
            base = Path(folder) / "embedded"
            base.mkdir()
            settings = settings_for(base, f"sqlite+aiosqlite:///{base / 'headwater.db'}")
            poll = min(settings.poll_interval, 60.0)  # the embedded runner's tick
            results.append(("embedded", await measure(settings, options.runs), poll))
        if options.mode in ("distributed", "both"):
            base = Path(folder) / "distributed"
            base.mkdir()
            async with scratch_postgres(options.postgres_url) as url:
                settings = settings_for(base, url).model_copy(update={"runner": "distributed"})
                results.append(("distributed", await measure(settings, options.runs), WorkerTuning().fetch_interval))
    print("\nfrom POST .../run to the run's start (ms); poll = how long a run waits if only the poll finds it")
    print(f"{'mode':<12} {'runs':>4} {'wall p50':>9} {'wall max':>9} {'stored p50':>11} {'stored max':>11} {'poll':>11}")
    for label, samples, poll in results:
        report(label, samples, poll)


if __name__ == "__main__":
    asyncio.run(main())
