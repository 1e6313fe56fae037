"""Which runner ``serve`` uses: in-process on SQLite; on PostgreSQL the queue, which ``serve`` also
works itself unless ``worker_concurrency`` is 0 (an API-only process beside ``headwater worker``s)."""

from __future__ import annotations

from headwater.ingest.jobs.base import JobRunner
from headwater.runtime import Runtime


def make_runner(runtime: Runtime) -> JobRunner:
    settings = runtime.settings
    if settings.distributed and settings.worker_concurrency:
        from headwater.ingest.jobs.worker import ServingWorkerRunner

        return ServingWorkerRunner(runtime, concurrency=settings.worker_concurrency)
    if settings.distributed:
        from headwater.ingest.jobs.distributed import ProcrastinateRunner

        return ProcrastinateRunner(runtime)
    from headwater.ingest.jobs.embedded import EmbeddedRunner

    return EmbeddedRunner(runtime)
