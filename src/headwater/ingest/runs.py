"""Runs as every dialect and the CLI show them, and runs asked for on demand.

A run asked for through an API is recorded as ``queued`` before the runner is asked, so that it is
listed at once; if the runner already has a run of the source waiting or under way, the new one is
dropped and the caller told so. The shapes below hold times as ``datetime``: each dialect writes
them its own way (epoch milliseconds in the partner API, ISO 8601 elsewhere).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from headwater.domain import RunOutcome
from headwater.ingest.jobs.base import JobRunner
from headwater.runtime import Runtime
from headwater.store import imports as ledger_store
from headwater.store import sources as source_store
from headwater.store.tables import Run

MAX_PAGE = 1000


@dataclass(frozen=True)
class RunRequest:
    """What came of asking for a run: the queued run's id, or None when one already waits or runs."""

    run_id: int | None

    @property
    def queued(self) -> bool:
        return self.run_id is not None


async def request_run(
    runtime: Runtime, runner: JobRunner, tenant_id: int, source_id: int, *, trigger: str
) -> RunRequest:
    """Record a queued run of the source and hand it to ``runner``."""
    async with runtime.db.session() as session:
        run = await ledger_store.queue_run(session, tenant_id, source_id, trigger)
        run_id = run.id
    try:
        taken = await runner.request_run(tenant_id, source_id, trigger=trigger, run_id=run_id)
    except BaseException:
        await _drop(runtime, tenant_id, source_id, run_id)
        raise
    if not taken:
        await _drop(runtime, tenant_id, source_id, run_id)
        return RunRequest(None)
    return RunRequest(run_id)


async def _drop(runtime: Runtime, tenant_id: int, source_id: int, run_id: int) -> None:
    async with runtime.db.session() as session:
        await ledger_store.drop_queued_run(session, tenant_id, source_id, run_id)


async def list_runs(
    runtime: Runtime,
    tenant_id: int,
    source_id: int,
    *,
    owner_partner_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[Run]:
    """The source's runs, newest first; ``NotFound`` when the source is not the tenant's (or partner's)."""
    async with runtime.db.session() as session:
        await source_store.get(session, tenant_id, source_id, owner_partner_id=owner_partner_id)
        return await ledger_store.list_runs(
            session, tenant_id, source_id, limit=min(limit, MAX_PAGE), offset=offset
        )


def describe_run(run: Run) -> dict[str, Any]:
    """A run under the APIs' names; ``errorCode`` and ``errorMessage`` are null unless it went wrong.

    ``message`` is everything the run had to say, a note of a run that went well included (a newly
    pinned host key)."""
    went_wrong = run.outcome in (RunOutcome.FAILED, RunOutcome.PARTIAL)
    return {
        "id": run.id,
        "dataSourceId": run.data_source_id,
        "trigger": run.trigger,
        "status": run.outcome,
        "queuedAt": run.queued_at,
        "startedAt": run.started_at,
        "finishedAt": run.finished_at,
        "files": run.files_imported + run.files_failed,
        "filesSeen": run.files_seen,
        "filesImported": run.files_imported,
        "filesSkipped": run.files_skipped,
        "filesFailed": run.files_failed,
        "rowsOk": run.rows_ok,
        "rowsWithErrors": run.rows_with_errors,
        "errorCode": run.error_code,
        "errorMessage": run.message if went_wrong else None,
        "message": run.message,
    }


__all__ = ["MAX_PAGE", "RunRequest", "describe_run", "list_runs", "request_run"]
