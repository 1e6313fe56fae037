"""The jobs of distributed mode: one run of one source, and the periodic job that queues the due
sources. Workers (``jobs/worker.py``) take them from the queue (``jobs/queue.py``).

A run interrupted anywhere is safe to start again: each file is one transaction and the ledger decides
what is left.
"""

from __future__ import annotations

import asyncio

from procrastinate import App, JobContext, PsycopgConnector

from headwater.errors import ConfigurationError, HeadwaterError
from headwater.ingest.imports import due_sources, run_source
from headwater.ingest.jobs.queue import (
    QUEUE,
    RUN_TASK,
    SCHEDULE_TASK,
    WorkerTuning,
    defer_run,
    recover_stalled_jobs,
    running_source_ids,
)
from headwater.logging import get_logger
from headwater.runtime import Runtime
from headwater.settings import Settings
from headwater.store.queue_schema import QUEUE_SCHEMA, libpq_conninfo

log = get_logger(__name__)

# A run that fails for a reason headwater did not foresee (database restarted, network gone) is tried
# again after 2, 4, 8, 16 and 32 seconds. Failures of the source's own server are not exceptions: the
# run records them and the source backs off until its next poll. The retry is a new job rather than
# procrastinate's retry of the same one: putting the same job back in the queue fails while another run
# of the source already waits there (the queueing lock), and would leave the job stuck as "doing".
MAX_RETRIES = 5


def retry_delay(attempt: int) -> int:
    return int(2**attempt)


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


async def enqueue_due(app: App, runtime: Runtime) -> int:
    """Queue a run for every due source that has none running; the number queued."""
    running = await running_source_ids(app)
    queued = 0
    for tenant_id, source_id in await due_sources(runtime):
        if source_id not in running and await defer_run(app, tenant_id, source_id, "schedule"):
            queued += 1
    return queued
