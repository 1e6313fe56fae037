"""Distributed mode: runs are jobs on procrastinate's PostgreSQL queue, taken by workers (``jobs/worker.py``).

One queued job per source (queueing lock) and one running job per source across all workers (lock);
a periodic job enqueues the sources that are due and puts jobs of dead workers back in the queue. A
run interrupted anywhere is safe to start again: each file is one transaction and the ledger decides
what is left.

The queue's tables live in their own PostgreSQL schema, so headwater's migrations never see them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import psycopg
import psycopg.conninfo
from procrastinate import App, JobContext, PsycopgConnector
from procrastinate import exceptions as queue_errors
from procrastinate.jobs import Job, Status
from procrastinate.schema import SchemaManager
from sqlalchemy.engine.url import make_url

from headwater.errors import ConfigurationError, HeadwaterError
from headwater.logging import get_logger
from headwater.runtime import Runtime
from headwater.settings import Settings

log = get_logger(__name__)

QUEUE = "headwater"
QUEUE_SCHEMA = "procrastinate"
RUN_TASK = "headwater.run_source"
SCHEDULE_TASK = "headwater.enqueue_due_sources"
# pg_advisory_lock keys: one for applying the queue schema, one for recovering stalled jobs.
_SCHEMA_LOCK = 0x68_77_71_01
_RECOVERY_LOCK = 0x68_77_71_02

# A run that fails for a reason headwater did not foresee (database restarted, network gone) is tried
# again after 2, 4, 8, 16 and 32 seconds. Failures of the source's own server are not exceptions: the
# run records them and the source backs off until its next poll. The retry is a new job rather than
# procrastinate's retry of the same one: putting the same job back in the queue fails while another run
# of the source already waits there (the queueing lock), and would leave the job stuck as "doing".
MAX_RETRIES = 5


def retry_delay(attempt: int) -> int:
    return int(2**attempt)


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


def libpq_conninfo(database_url: str) -> str:
    """The libpq connection string for a SQLAlchemy URL such as ``postgresql+asyncpg://…``."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ConfigurationError("distributed mode needs a PostgreSQL HEADWATER_DATABASE_URL")
    params: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
    }
    query = {key: value if isinstance(value, str) else value[-1] for key, value in url.query.items()}
    ssl = query.get("sslmode") or query.get("ssl")  # asyncpg says ssl=, libpq says sslmode=
    if ssl:
        params["sslmode"] = {"true": "require", "false": "disable"}.get(ssl.lower(), ssl)
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v is not None})


def apply_queue_schema(database_url: str) -> None:
    """Create procrastinate's tables once; a no-op when they exist. Blocking: run it in a thread.

    Concurrent callers (several workers starting together) wait on an advisory lock.
    """
    with psycopg.connect(libpq_conninfo(database_url), autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
        try:
            found = connection.execute(
                "SELECT to_regclass(%s)", (f"{QUEUE_SCHEMA}.procrastinate_jobs",)
            ).fetchone()
            if found is not None and found[0] is not None:
                return
            with connection.transaction():
                connection.execute(f"CREATE SCHEMA IF NOT EXISTS {QUEUE_SCHEMA}")
                connection.execute(f"SET LOCAL search_path TO {QUEUE_SCHEMA}")
                connection.execute(SchemaManager.get_schema())
            log.info("job queue schema created", schema=QUEUE_SCHEMA)
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))


def build_app(settings: Settings, *, pool_size: int = 4) -> App:
    """A procrastinate App on headwater's database with headwater's two tasks. Open it before use."""
    connector = PsycopgConnector(
        conninfo=libpq_conninfo(settings.database_url),
        kwargs={"options": f"-c search_path={QUEUE_SCHEMA}"},
        min_size=1,
        max_size=pool_size,
    )
    app = App(connector=connector)
    app.task(
        name=RUN_TASK,
        queue=QUEUE,
        pass_context=True,
    )(run_source_task)
    schedule = app.task(name=SCHEDULE_TASK, queue=QUEUE, pass_context=True)(enqueue_due_sources)
    app.periodic(cron="* * * * *", periodic_id="due-sources")(schedule)
    return app


def _runtime_of(context: JobContext) -> Runtime:
    runtime = context.additional_context.get("runtime")
    if not isinstance(runtime, Runtime):
        raise ConfigurationError("headwater jobs run only in a headwater worker")
    return runtime


def _tuning_of(context: JobContext) -> WorkerTuning:
    tuning = context.additional_context.get("tuning")
    return tuning if isinstance(tuning, WorkerTuning) else WorkerTuning()


async def run_source_task(
    context: JobContext,
    tenant_id: int,
    source_id: int,
    trigger: str = "schedule",
    attempt: int = 0,
    run_id: int | None = None,
) -> None:
    """The job: one run of one source (the queued run ``run_id``, when it was asked for through an API).

    A run tried again after a failure is a new run: the failed one stays in the source's history.
    """
    from headwater.imports import run_source

    runtime = _runtime_of(context)
    try:
        await run_source(runtime, tenant_id, source_id, trigger=trigger, run_id=run_id)
    except HeadwaterError as exc:
        # The source is gone, inactive or not a pull source: trying again would not help.
        log.warning("run not started", tenant_id=tenant_id, source_id=source_id, error=exc.message)
    except asyncio.CancelledError:
        # The worker is shutting down: the file under way rolled back; another worker takes the run.
        await defer_run(context.app, tenant_id, source_id, trigger, attempt=attempt)
        raise
    except Exception:
        if attempt >= MAX_RETRIES:
            raise  # the job ends as failed: ``headwater status`` shows it
        delay = retry_delay(attempt + 1)
        queued = await defer_run(context.app, tenant_id, source_id, trigger, attempt=attempt + 1, delay=delay)
        log.warning(
            "run failed, tried again later" if queued else "run failed, another run of the source waits",
            tenant_id=tenant_id,
            source_id=source_id,
            attempt=attempt + 1,
            delay=delay,
            exc_info=True,
        )


async def enqueue_due_sources(context: JobContext, timestamp: int) -> None:
    """The periodic job, once a minute on one worker: requeue dead workers' jobs, enqueue due sources."""
    runtime = _runtime_of(context)
    await recover_stalled_jobs(context.app, stalled_after=_tuning_of(context).stalled_after)
    queued = await enqueue_due(context.app, runtime)
    if queued:
        log.info("due sources enqueued", count=queued)


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


async def _running_source_ids(app: App) -> set[int]:
    jobs = await app.job_manager.list_jobs_async(queue=QUEUE, task=RUN_TASK, status="doing")
    return {source_id for job in jobs if (source_id := _int_arg(job, "source_id")) is not None}


async def enqueue_due(app: App, runtime: Runtime) -> int:
    """Queue a run for every due source that has none running; the number queued."""
    from headwater.imports import due_sources

    running = await _running_source_ids(app)
    queued = 0
    for tenant_id, source_id in await due_sources(runtime):
        if source_id not in running and await defer_run(app, tenant_id, source_id, "schedule"):
            queued += 1
    return queued


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


class ProcrastinateRunner:
    """The runner port over the queue: ``request_run`` only enqueues; workers do the runs."""

    def __init__(self, runtime: Runtime, *, app: App | None = None) -> None:
        self.runtime = runtime
        self._owns_app = app is None
        self.app = app if app is not None else build_app(runtime.settings)
        self._open = not self._owns_app

    async def start(self) -> None:
        if not self._open:
            await self.app.open_async()
            self._open = True

    async def stop(self) -> None:
        if self._open and self._owns_app:
            await self.app.close_async()
            self._open = False

    async def request_run(
        self, tenant_id: int, source_id: int, *, trigger: str = "manual", run_id: int | None = None
    ) -> bool:
        await self.start()
        return await defer_run(self.app, tenant_id, source_id, trigger, run_id=run_id)
