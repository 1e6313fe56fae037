"""Distributed mode on the real PostgreSQL: the queue, worker processes, crashes and the embedded fallback."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from procrastinate import App, JobContext
from procrastinate.jobs import Job
from structlog.testing import capture_logs

from headwater.access.crypto import load_secret_box
from headwater.access.ratelimit import RateLimiter
from headwater.ingest import runs
from headwater.ingest.jobs.distributed import ProcrastinateRunner
from headwater.ingest.jobs.queue import QUEUE, RUN_TASK, defer_run, queue_status, recover_stalled_jobs
from headwater.ingest.jobs.tasks import MAX_RETRIES, build_app, enqueue_due, retry_delay, run_source_task
from headwater.runtime import Runtime, open_runtime
from headwater.settings import Settings
from headwater.store.database import Database
from tests.conftest import make_settings
from tests.integration.worker_support import (
    WorkerProcess,
    create_sftp_source,
    headwater_status,
    provision_tenant,
    queue_counts,
    running_workers,
    sales_csv,
    scalar,
    wait_until,
)
from tests.servers import SftpServerInfo

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_settings(tmp_path: Path, queue_url: str) -> Settings:
    return make_settings(tmp_path, queue_url)


@pytest.fixture
async def pg_runtime(pg_settings: Settings) -> AsyncIterator[Runtime]:
    async with open_runtime(pg_settings) as runtime:
        yield runtime


@pytest.fixture
async def queue(pg_settings: Settings) -> AsyncIterator[App]:
    async with build_app(pg_settings).open_async() as app:
        yield app


# -- the queue, without worker processes -----------------------------------------------------------


async def test_a_source_has_at_most_one_run_waiting_in_the_queue(pg_runtime: Runtime, queue: App) -> None:
    runner = ProcrastinateRunner(pg_runtime, app=queue)
    assert await runner.request_run(1, 7) is True
    assert await runner.request_run(1, 7) is False
    assert await runner.request_run(1, 8, trigger="api") is True
    status = {entry.source_id: entry for entry in await queue_status(queue)}
    assert (status[7].pending, status[7].running, status[7].tenant_id) == (1, 0, 1)
    assert status[8].pending == 1


async def test_a_run_of_a_worker_that_stopped_beating_goes_back_to_the_queue(queue: App) -> None:
    await _defer(queue, 5)
    dead_worker = await queue.job_manager.register_worker()
    taken = await queue.job_manager.fetch_job(queues=[QUEUE], worker_id=dead_worker)
    assert taken is not None

    assert await recover_stalled_jobs(queue, stalled_after=60) == []  # its heartbeat is fresh
    assert await recover_stalled_jobs(queue, stalled_after=0) == [taken.id]

    [job] = await queue.job_manager.list_jobs_async(id=taken.id)
    assert (job.status, job.attempts) == ("todo", 1)


async def test_a_dead_run_is_dropped_when_its_source_already_has_one_waiting(queue: App) -> None:
    await _defer(queue, 5)
    dead_worker = await queue.job_manager.register_worker()
    taken = await queue.job_manager.fetch_job(queues=[QUEUE], worker_id=dead_worker)
    assert taken is not None
    await _defer(queue, 5)  # the queueing lock allows one waiting beside the one under way

    assert await recover_stalled_jobs(queue, stalled_after=0) == []

    [entry] = await queue_status(queue)
    assert (entry.pending, entry.running, entry.failed) == (1, 0, 1)


async def _defer(queue: App, source_id: int) -> None:
    assert await defer_run(queue, 1, source_id, "manual")


@asynccontextmanager
async def _runtime_on(settings: Settings, url: str) -> AsyncIterator[Runtime]:
    """A runtime whose database is ``url``, opened without migrating (it may not answer at all)."""
    runtime = Runtime(
        settings=settings, db=Database(url), box=load_secret_box(settings), limiter=RateLimiter()
    )
    try:
        yield runtime
    finally:
        await runtime.db.dispose()


def _context(queue: App, runtime: Runtime) -> JobContext:
    job = Job(id=1, queue=QUEUE, lock=None, queueing_lock=None, task_name=RUN_TASK)
    return JobContext(
        app=queue,
        job=job,
        start_timestamp=time.time(),
        additional_context={"runtime": runtime},
        abort_reason=lambda: None,
    )


async def _waiting_runs(queue: App) -> list[Job]:
    return list(await queue.job_manager.list_jobs_async(queue=QUEUE, task=RUN_TASK, status="todo"))


async def test_a_run_failing_unexpectedly_is_queued_again_with_a_growing_delay(
    queue: App, pg_settings: Settings
) -> None:
    missing = "postgresql+asyncpg://postgres@127.0.0.1:5432/headwater_no_such_database"
    async with _runtime_on(pg_settings, missing) as broken:
        before = datetime.now(UTC)
        with capture_logs() as logged:
            await run_source_task(
                _context(queue, broken), tenant_id=1, source_id=9, trigger="manual", attempt=2
            )
        after = datetime.now(UTC)

        [retry] = await _waiting_runs(queue)
        assert retry.task_kwargs == {"tenant_id": 1, "source_id": 9, "trigger": "manual", "attempt": 3}
        assert retry.scheduled_at is not None
        wait = timedelta(seconds=retry_delay(3))
        assert before + wait <= retry.scheduled_at <= after + wait
        assert [entry["event"] for entry in logged] == ["run failed, tried again later"]

        with capture_logs(), pytest.raises(Exception, match="headwater_no_such_database"):
            await run_source_task(_context(queue, broken), tenant_id=1, source_id=10, attempt=MAX_RETRIES)
        assert [job.task_kwargs["source_id"] for job in await _waiting_runs(queue)] == [9]


async def test_a_run_cancelled_by_a_shutdown_goes_back_to_the_queue(
    queue: App, pg_settings: Settings
) -> None:
    with socket.socket() as silent:  # accepts connections, never answers: the run hangs connecting
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        hanging = f"postgresql+asyncpg://postgres@127.0.0.1:{silent.getsockname()[1]}/headwater"
        async with _runtime_on(pg_settings, hanging) as stuck:
            run = asyncio.create_task(run_source_task(_context(queue, stuck), tenant_id=1, source_id=11))
            await asyncio.sleep(0)
            run.cancel()
            with pytest.raises(asyncio.CancelledError):
                await run

    [again] = await _waiting_runs(queue)
    assert again.task_kwargs == {"tenant_id": 1, "source_id": 11, "trigger": "schedule", "attempt": 0}


async def test_the_schedule_enqueues_due_sources_except_those_under_way(
    pg_runtime: Runtime, queue: App, sftp_server: SftpServerInfo
) -> None:
    tenant_id = await provision_tenant(pg_runtime)
    first, second, third = [
        await create_sftp_source(pg_runtime, tenant_id, sftp_server, f"/due-{n}") for n in range(3)
    ]
    runner = ProcrastinateRunner(pg_runtime, app=queue)
    await runner.request_run(tenant_id, third)
    worker = await queue.job_manager.register_worker()
    assert await queue.job_manager.fetch_job(queues=[QUEUE], worker_id=worker) is not None

    assert await enqueue_due(queue, pg_runtime) == 2

    status = {entry.source_id: entry for entry in await queue_status(queue)}
    assert {source_id: (e.pending, e.running) for source_id, e in status.items()} == {
        first: (1, 0),
        second: (1, 0),
        third: (0, 1),
    }


def test_status_shows_the_queue_per_source_as_json(queue_url: str, tmp_path: Path) -> None:
    import asyncio

    async def enqueue() -> None:
        async with build_app(make_settings(tmp_path, queue_url)).open_async() as app:
            await defer_run(app, 3, 42, "manual")

    asyncio.run(enqueue())
    answer = headwater_status(queue_url)
    assert answer["sources"] == [
        {"sourceId": 42, "tenantId": 3, "name": None, "pending": 1, "running": 0, "failed": 0}
    ]
    assert answer["queue"]["waiting"] == 1
    assert answer["queue"]["status"] == "ok"  # it has waited less than two minutes


# -- worker processes ------------------------------------------------------------------------------

SOURCES = 20
FILES_PER_SOURCE = 3
ROWS_PER_FILE = 25


async def test_two_workers_import_every_file_of_twenty_sources_exactly_once(
    pg_runtime: Runtime, queue: App, sftp_server: SftpServerInfo, queue_url: str, tmp_path: Path
) -> None:
    tenant_id = await provision_tenant(pg_runtime)
    source_ids = []
    for n in range(SOURCES):
        for f in range(FILES_PER_SOURCE):
            sftp_server.put(f"s{n}/sales-{f}.csv", sales_csv(f"s{n}f{f}", ROWS_PER_FILE))
        source_ids.append(await create_sftp_source(pg_runtime, tenant_id, sftp_server, f"/s{n}"))
    runner = ProcrastinateRunner(pg_runtime, app=queue)
    for source_id in source_ids:
        await runner.request_run(tenant_id, source_id, trigger="manual")
    expected_files = SOURCES * FILES_PER_SOURCE

    with running_workers(queue_url, tmp_path, 2) as workers:

        async def all_imported_and_queue_idle() -> bool:
            imported = await scalar(pg_runtime, "SELECT count(*) FROM import_files WHERE state = 'imported'")
            counts = await queue_counts(queue_url)
            return bool(imported == expected_files and not counts.get("todo") and not counts.get("doing"))

        await wait_until(all_imported_and_queue_idle, "every file imported", workers=workers)
        # A second round finds nothing new.
        for source_id in source_ids:
            await runner.request_run(tenant_id, source_id, trigger="manual")
        await wait_until(all_imported_and_queue_idle, "the second round done", workers=workers)

    files = await scalar(pg_runtime, "SELECT count(*) FROM import_files")
    per_path = await scalar(
        pg_runtime,
        "SELECT max(n) FROM (SELECT count(*) AS n FROM import_files GROUP BY data_source_id, path) t",
    )
    rows = await scalar(pg_runtime, "SELECT count(*) FROM partner_sales")
    distinct_rows = await scalar(
        pg_runtime, "SELECT count(DISTINCT (import_file_id, line)) FROM partner_sales"
    )
    skipped = await scalar(pg_runtime, "SELECT coalesce(sum(rows_skipped), 0) FROM import_files")
    assert (files, per_path) == (expected_files, 1)
    assert rows == distinct_rows == expected_files * ROWS_PER_FILE
    assert skipped == 0
    assert await scalar(pg_runtime, "SELECT count(*) FROM data_sources WHERE status <> 'idle'") == 0
    assert (await queue_counts(queue_url)).get("failed", 0) == 0


LARGE_FILE_ROWS = 100_000


async def test_a_worker_killed_mid_file_leaves_every_row_exactly_once_after_a_restart(
    pg_runtime: Runtime, sftp_server: SftpServerInfo, queue: App, queue_url: str, tmp_path: Path
) -> None:
    tenant_id = await provision_tenant(pg_runtime)
    sftp_server.put("big/sales-large.csv", sales_csv("large", LARGE_FILE_ROWS))
    source_id = await create_sftp_source(pg_runtime, tenant_id, sftp_server, "/big")
    await ProcrastinateRunner(pg_runtime, app=queue).request_run(tenant_id, source_id)

    doomed = WorkerProcess(queue_url, tmp_path / "doomed.log", concurrency=1)
    try:

        async def writing_rows() -> bool:
            # The file's transaction holds this lock from its first row until it commits or rolls back.
            return bool(
                await scalar(
                    pg_runtime,
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = 'partner_sales' AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()",
                )
            )

        await wait_until(writing_rows, "the worker writing the large file's rows", workers=[doomed])
        doomed.kill()
    finally:
        doomed.stop()

    async def rolled_back() -> bool:
        return not await writing_rows()

    await wait_until(rolled_back, "the killed worker's transaction rolled back")
    assert await scalar(pg_runtime, "SELECT count(*) FROM partner_sales") == 0
    assert (await queue_counts(queue_url)).get("doing") == 1  # stranded until a worker notices

    with running_workers(queue_url, tmp_path, 1) as workers:

        async def imported() -> bool:
            state = await scalar(
                pg_runtime, "SELECT state FROM import_files WHERE path LIKE '%sales-large.csv'"
            )
            counts = await queue_counts(queue_url)
            return bool(state == "imported" and not counts.get("todo") and not counts.get("doing"))

        await wait_until(imported, "the large file imported after the restart", workers=workers, timeout=60)

    rows = await scalar(pg_runtime, "SELECT count(*) FROM partner_sales")
    distinct_lines = await scalar(pg_runtime, "SELECT count(DISTINCT line) FROM partner_sales")
    assert rows == distinct_lines == LARGE_FILE_ROWS
    assert await scalar(pg_runtime, "SELECT rows_ok FROM import_files") == LARGE_FILE_ROWS


async def test_a_worker_stops_cleanly_on_sigterm(queue_url: str, queue: App, tmp_path: Path) -> None:
    worker = WorkerProcess(queue_url, tmp_path / "worker.log")

    async def registered() -> bool:
        return bool(await _worker_count(queue))

    await wait_until(registered, "the worker registered", workers=[worker])
    # A heartbeat after the registration's means the queue's worker loop is up.
    registered_at = await _scalar(
        queue, "SELECT extract(epoch FROM max(last_heartbeat)) FROM procrastinate_workers"
    )

    async def beating() -> bool:
        beat = await _scalar(
            queue, "SELECT extract(epoch FROM max(last_heartbeat)) FROM procrastinate_workers"
        )
        return beat > registered_at

    await wait_until(beating, "the worker up and beating", workers=[worker])
    assert worker.stop() == 0, worker.output()
    assert await _worker_count(queue) == 0


async def test_a_worker_stopped_the_moment_it_registers_still_unregisters(
    queue_url: str, queue: App, tmp_path: Path
) -> None:
    worker = WorkerProcess(queue_url, tmp_path / "worker.log")

    async def registered() -> bool:
        return bool(await _worker_count(queue))

    # No wait for the worker loop: the signal lands while the worker is still starting.
    await wait_until(registered, "the worker registered", workers=[worker], interval=0.005)
    assert worker.stop() == 0, worker.output()
    assert await _worker_count(queue) == 0


async def _worker_count(queue: App) -> int:
    return int(await _scalar(queue, "SELECT count(*) FROM procrastinate_workers"))


async def _scalar(queue: App, sql: str) -> float:
    connector = queue.connector
    async with connector.pool.connection() as connection:  # type: ignore[attr-defined]
        cursor = await connection.execute(sql)
        row = await cursor.fetchone()
    return float(row[0]) if row and row[0] is not None else 0


# -- embedded mode ----------------------------------------------------------------------------------


async def test_embedded_mode_still_imports_in_process_on_sqlite(
    sqlite_settings: Settings, sftp_server: SftpServerInfo
) -> None:
    from headwater.ingest.jobs.embedded import EmbeddedRunner
    from headwater.ingest.jobs.select import make_runner

    sftp_server.put("in/sales.csv", sales_csv("embedded", 40))
    async with open_runtime(sqlite_settings) as runtime:
        runner = make_runner(runtime)
        assert isinstance(runner, EmbeddedRunner)
        tenant_id = await provision_tenant(runtime)
        source_id = await create_sftp_source(runtime, tenant_id, sftp_server, "/in")
        assert await runner.request_run(tenant_id, source_id)
        await runner.wait_idle()
        assert await scalar(runtime, "SELECT count(*) FROM partner_sales") == 40
        assert await scalar(runtime, "SELECT state FROM import_files") == "imported"


async def test_a_run_asked_for_is_listed_as_queued_until_a_worker_carries_it_out(
    pg_runtime: Runtime, queue: App, sftp_server: SftpServerInfo
) -> None:
    tenant_id = await provision_tenant(pg_runtime)
    source_id = await create_sftp_source(pg_runtime, tenant_id, sftp_server, "/asked")
    sftp_server.put("asked/sales.csv", sales_csv("A", 3))
    runner = ProcrastinateRunner(pg_runtime, app=queue)

    asked = await runs.request_run(pg_runtime, runner, tenant_id, source_id, trigger="manual")
    again = await runs.request_run(pg_runtime, runner, tenant_id, source_id, trigger="manual")

    assert asked.queued and not again.queued
    [queued] = await runs.list_runs(pg_runtime, tenant_id, source_id)
    assert (queued.id, queued.outcome, queued.started_at) == (asked.run_id, "queued", None)
    [job] = await _waiting_runs(queue)
    assert job.task_kwargs["run_id"] == asked.run_id

    await run_source_task(_context(queue, pg_runtime), **job.task_kwargs)

    [done] = await runs.list_runs(pg_runtime, tenant_id, source_id)
    assert (done.id, done.outcome, done.files_imported, done.rows_ok) == (asked.run_id, "succeeded", 1, 3)
