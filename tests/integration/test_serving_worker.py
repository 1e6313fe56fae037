"""``headwater serve`` on PostgreSQL works the queue itself, and says plainly when nobody does."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from headwater.ingest.jobs.worker import ServingWorkerRunner
from headwater.settings import Settings
from headwater.store.queue_schema import QUEUE_SCHEMA, libpq_conninfo
from tests.conftest import make_settings, running_app
from tests.integration.worker_support import (
    create_sftp_source,
    headwater_status,
    provision_tenant,
    scalar,
    wait_until,
)
from tests.servers import SftpServerInfo

pytestmark = pytest.mark.postgres


def _serving(tmp_path: Path, url: str, **overrides: object) -> Settings:
    return make_settings(tmp_path, url, run_imports=True, **overrides)


async def test_serve_on_postgres_imports_a_requested_run_without_a_separate_worker(
    tmp_path: Path, queue_url: str, sftp_server: SftpServerInfo
) -> None:
    sftp_server.put(
        "served/sales.csv",
        b"saleDate,transactionId,quantity,amount,partnerSkuCode\n"
        b"2024-03-01,T-1,1,9.50,SKU-1\n2024-03-02,T-2,2,3.00,SKU-2\n",
    )
    async with running_app(_serving(tmp_path, queue_url)) as (app, client):
        runtime = app.state.runtime
        assert isinstance(runtime.runner, ServingWorkerRunner)
        tenant_id = await provision_tenant(runtime)
        source_id = await create_sftp_source(runtime, tenant_id, sftp_server, "/served")
        assert await runtime.runner.request_run(tenant_id, source_id)

        async def imported() -> bool:
            return await scalar(runtime, "SELECT count(*) FROM partner_sales") == 2

        await wait_until(imported, "the run imported by serve's own worker")
        ready = (await client.get("/readyz")).json()
        assert ready["queue"]["status"] == "ok"
        assert ready["queue"]["workers"] == 1


async def test_an_api_only_serve_says_when_runs_wait_and_no_worker_takes_them(
    tmp_path: Path, queue_url: str
) -> None:
    settings = _serving(tmp_path, queue_url, worker_concurrency=0)
    async with running_app(settings) as (app, client):
        runtime = app.state.runtime
        assert not isinstance(runtime.runner, ServingWorkerRunner)
        assert await runtime.runner.request_run(1, 41)
        fresh = (await client.get("/readyz")).json()
        assert fresh["queue"]["status"] == "ok"
        assert fresh["queue"]["waiting"] == 1

        _age_queue_events(queue_url, minutes=3)
        stalled = await client.get("/readyz")
        assert stalled.status_code == 200  # the process still serves: the queue is reported, not fatal
        queue = stalled.json()["queue"]
        assert queue["status"] == "stalled"
        assert queue["workers"] == 0
        assert "headwater worker" in queue["message"]

    answer = headwater_status(queue_url)
    assert answer["queue"]["status"] == "stalled"
    assert answer["sources"][0]["sourceId"] == 41


def _age_queue_events(url: str, *, minutes: int) -> None:
    """As if the queued runs had been deferred ``minutes`` ago."""
    with psycopg.connect(libpq_conninfo(url), autocommit=True) as connection:
        connection.execute(
            f"UPDATE {QUEUE_SCHEMA}.procrastinate_events SET at = now() - make_interval(mins => %s)",
            (minutes,),
        )
