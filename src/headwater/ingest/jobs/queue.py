"""The job queue of distributed mode, on procrastinate: queueing a run of a source, what the queue holds,
and putting back the jobs of workers that died. It knows the queue's names, not what a run does
(``jobs/tasks.py``).

One queued job per source (queueing lock) and one running job per source across all workers (lock).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from procrastinate import App, PsycopgConnector
from procrastinate import exceptions as queue_errors
from procrastinate.jobs import Job, Status

from headwater.logging import get_logger

log = get_logger(__name__)

QUEUE = "headwater"
RUN_TASK = "headwater.run_source"
SCHEDULE_TASK = "headwater.enqueue_due_sources"
# pg_advisory_lock key held by the one worker recovering stalled jobs (store/queue_schema.py holds another).
_RECOVERY_LOCK = 0x68_77_71_02


@dataclass(frozen=True)
class WorkerTuning:
    """How quickly a dead worker is noticed: live workers beat every ``heartbeat_interval`` seconds;
    a job whose worker has been silent for ``stalled_after`` seconds is queued again.

    A queued job wakes an idle worker at once (PostgreSQL LISTEN/NOTIFY); ``fetch_interval`` is only
    the fallback for a notification lost while the worker's listening connection was being re-opened.
    """

    heartbeat_interval: float = 10.0
    stalled_after: float = 60.0
    fetch_interval: float = 5.0


def _lock(source_id: int) -> str:
    return f"source-{source_id}"


async def defer_run(
    app: App,
    tenant_id: int,
    source_id: int,
    trigger: str,
    *,
    attempt: int = 0,
    delay: int = 0,
    run_id: int | None = None,
) -> bool:
    """Queue a run (after ``delay`` seconds); False when one already waits in the queue for this source."""
    lock = _lock(source_id)
    deferrer = app.configure_task(
        RUN_TASK,
        queue=QUEUE,
        lock=lock,
        queueing_lock=lock,
        schedule_in={"seconds": delay} if delay else None,
    )
    arguments: dict[str, Any] = {
        "tenant_id": tenant_id,
        "source_id": source_id,
        "trigger": trigger,
        "attempt": attempt,
    }
    if run_id is not None:
        arguments["run_id"] = run_id
    try:
        await deferrer.defer_async(**arguments)
    except queue_errors.AlreadyEnqueued:
        return False
    return True


def _int_arg(job: Job, name: str) -> int | None:
    value = job.task_kwargs.get(name)
    return value if isinstance(value, int) else None


async def running_source_ids(app: App) -> set[int]:
    jobs = await app.job_manager.list_jobs_async(queue=QUEUE, task=RUN_TASK, status="doing")
    return {source_id for job in jobs if (source_id := _int_arg(job, "source_id")) is not None}


async def recover_stalled_jobs(app: App, *, stalled_after: float) -> list[int]:
    """Put back in the queue the jobs of workers that stopped beating (killed, machine lost).

    One worker at a time does this (advisory lock), so a job is never requeued twice. When the source
    already has a run waiting, the dead one is marked failed instead: the waiting run does the work.
    """
    connector = app.connector
    assert isinstance(connector, PsycopgConnector)
    recovered: list[int] = []
    async with connector.pool.connection() as connection:
        await connection.set_autocommit(True)
        locked = await (
            await connection.execute("SELECT pg_try_advisory_lock(%s)", (_RECOVERY_LOCK,))
        ).fetchone()
        if not locked or not locked[0]:
            return recovered
        try:
            stalled = await app.job_manager.get_stalled_jobs(
                queue=QUEUE, seconds_since_heartbeat=stalled_after
            )
            for job in stalled:
                if await _requeue(app, job):
                    recovered.append(cast(int, job.id))
            await app.job_manager.prune_stalled_workers(stalled_after)
        finally:
            await connection.execute("SELECT pg_advisory_unlock(%s)", (_RECOVERY_LOCK,))
    if recovered:
        log.warning("jobs of stopped workers queued again", job_ids=recovered)
    return recovered


async def _requeue(app: App, job: Job) -> bool:
    assert job.id is not None
    try:
        await app.job_manager.retry_job(job)
        return True
    except queue_errors.UniqueViolation:
        await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
    except queue_errors.ConnectorException:
        log.info("stalled job changed state meanwhile", job_id=job.id)
    return False


@dataclass
class SourceQueue:
    """What the queue holds for one source."""

    source_id: int
    tenant_id: int | None
    pending: int = 0
    running: int = 0
    failed: int = 0


async def queue_status(app: App) -> list[SourceQueue]:
    """Pending, running and failed runs per source, for ``headwater status``."""
    by_source: dict[int, SourceQueue] = {}
    for status, counter in (("todo", "pending"), ("doing", "running"), ("failed", "failed")):
        jobs: Iterable[Job] = await app.job_manager.list_jobs_async(queue=QUEUE, task=RUN_TASK, status=status)
        for job in jobs:
            source_id = _int_arg(job, "source_id")
            if source_id is None:
                continue
            entry = by_source.setdefault(source_id, SourceQueue(source_id, _int_arg(job, "tenant_id")))
            setattr(entry, counter, getattr(entry, counter) + 1)
    return [by_source[source_id] for source_id in sorted(by_source)]
