"""A run asked for through the API starts at once in both modes, not at the runner's next poll.

Each test makes the poll far longer than the test waits (an hour), so the run can only have started
because the runner was woken: the embedded runner is handed the run directly, the queue's worker hears
PostgreSQL's NOTIFY. The source's server refuses connections, so each run starts and ends quickly.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from headwater.ingest.jobs.queue import WorkerTuning
from headwater.ingest.jobs.worker import ServingWorkerRunner
from headwater.runtime import Runtime
from headwater.settings import Settings
from headwater.store.tables import Run
from tests.conftest import make_settings, running_app
from tests.integration.test_import_servers import Partner
from tests.integration.worker_support import emptied_queue_and_tables
from tests.support.tenants import make_tenancy

AN_HOUR = 3600.0
WAIT = 30.0  # far below the hour a poll would take


def refusing_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def started_at_once(runtime: Runtime, partner: Partner) -> None:
    source_id = await partner.create(
        dataSourceType="FTP", host="127.0.0.1", port=refusing_port(), user="u", password="p"
    )
    asked = await partner.call("POST", f"/partner/datasources/{source_id}/run")
    assert asked.status_code == 202, asked.text
    assert asked.json()["run"]["status"] == "queued"
    run_id = asked.json()["run"]["id"]

    deadline = time.monotonic() + WAIT
    while True:
        async with runtime.db.session() as session:
            started = await session.scalar(select(Run.started_at).where(Run.id == run_id))
        if started is not None:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the run asked for had not started after {WAIT}s: it waits for the poll")
        await asyncio.sleep(0.02)


async def test_a_run_asked_for_starts_at_once_in_embedded_mode(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}",
        run_imports=True,
        poll_interval=AN_HOUR,
    )
    async with running_app(settings) as (app, client):
        runtime: Runtime = app.state.runtime
        await started_at_once(runtime, Partner(client, await make_tenancy(runtime)))
        await runtime.runner.wait_idle()


@pytest.fixture
def queue_url(postgres_url: str) -> Iterator[str]:
    with emptied_queue_and_tables(postgres_url):
        yield postgres_url


@pytest.mark.postgres
async def test_a_run_asked_for_wakes_a_queue_worker_at_once(tmp_path: Path, queue_url: str) -> None:
    # An API-only serve queues the run; a worker that would poll the queue only once an hour takes it.
    settings: Settings = make_settings(
        tmp_path, queue_url, run_imports=True, runner="distributed", worker_concurrency=0
    )
    async with running_app(settings) as (app, client):
        runtime: Runtime = app.state.runtime
        worker = ServingWorkerRunner(runtime, concurrency=1, tuning=WorkerTuning(fetch_interval=AN_HOUR))
        await worker.start()
        try:
            await started_at_once(runtime, Partner(client, await make_tenancy(runtime)))
        finally:
            await worker.stop()
