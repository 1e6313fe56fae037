"""Which runner a process uses: in-process on SQLite, procrastinate workers on PostgreSQL."""

from __future__ import annotations

from headwater.jobs.base import JobRunner
from headwater.runtime import Runtime


def make_runner(runtime: Runtime) -> JobRunner:
    if runtime.settings.distributed:
        from headwater.jobs.distributed import ProcrastinateRunner

        return ProcrastinateRunner(runtime)
    from headwater.jobs.embedded import EmbeddedRunner

    return EmbeddedRunner(runtime)
