"""The outbox: events are written in the transaction of the outcome that causes them.

A file's rows and its ``file.imported`` event commit together, so an event is never lost and never
sent for something that rolled back. Each event gets one pending delivery per endpoint subscribed to
it; the delivery loop (``delivery``) sends them. When no endpoint wants an event, nothing is written.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from headwater.clock import iso_millis, utcnow
from headwater.domain import FileState, RunOutcome
from headwater.store import webhooks as webhook_store
from headwater.store.tables import DataSource, ImportErrorRow, ImportFile, Run
from headwater.webhooks import events as ev

_WROTE_EVENTS = "headwater.webhooks.wrote_events"
# The delivery loops of this process, woken when a transaction that wrote events commits.
_waiting: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()


def wake_on_commit(loop: asyncio.AbstractEventLoop, wake: asyncio.Event) -> None:
    _waiting.add((loop, wake))


def stop_waking(loop: asyncio.AbstractEventLoop, wake: asyncio.Event) -> None:
    _waiting.discard((loop, wake))


@sa_event.listens_for(Session, "after_commit")
def _wake_delivery_loops(session: Session) -> None:
    if session.info.pop(_WROTE_EVENTS, False):
        for loop, wake in list(_waiting):
            if not loop.is_closed():
                loop.call_soon_threadsafe(wake.set)


@sa_event.listens_for(Session, "after_rollback")
def _forget_events(session: Session) -> None:
    session.info.pop(_WROTE_EVENTS, None)


def wake_after_commit(session: AsyncSession) -> None:
    """Wake this process's delivery loops once ``session``'s transaction commits."""
    session.info[_WROTE_EVENTS] = True


async def record(session: AsyncSession, tenant_id: int, event_type: str, data: dict[str, Any]) -> None:
    """Write ``event_type`` for every active endpoint of the tenant subscribed to it."""
    endpoint_ids = [
        endpoint_id
        for endpoint_id, subscribed_to in await webhook_store.active_endpoints(session, tenant_id)
        if ev.subscribed(subscribed_to, event_type)
    ]
    if not endpoint_ids:
        return
    now = utcnow()
    message_id = f"msg_{uuid.uuid4().hex}"
    await webhook_store.add_event(
        session, tenant_id, message_id, event_type, ev.body(event_type, now, data), now, endpoint_ids
    )
    wake_after_commit(session)


async def _source_json(session: AsyncSession, tenant_id: int, source_id: int) -> dict[str, Any]:
    name = await session.scalar(
        select(DataSource.name).where(DataSource.tenant_id == tenant_id, DataSource.id == source_id)
    )
    return {"id": source_id, "name": name}


def _file_json(row: ImportFile) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "path": row.path,
        "runId": row.run_id,
        "state": row.state,
        "rows": row.rows,
        "rowsOk": row.rows_ok,
        "rowsWithErrors": row.rows_with_errors,
        "rowsSkipped": row.rows_skipped,
        "finishedAt": iso_millis(row.finished_at),
    }


async def _first_errors(session: AsyncSession, tenant_id: int, file_id: int) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(ImportErrorRow)
        .where(ImportErrorRow.tenant_id == tenant_id, ImportErrorRow.import_file_id == file_id)
        .order_by(ImportErrorRow.line, ImportErrorRow.id)
        .limit(ev.ERRORS_SHOWN)
    )
    return [
        {"line": error.line, "column": error.column, "code": error.code, "message": error.message[:500]}
        for error in rows
    ]


async def file_outcome(session: AsyncSession, row: ImportFile) -> None:
    """The events of a file whose outcome ``row`` holds, in the transaction that writes it: imported
    (and rejected rows, when some were), or failed. A file rolled back tells nothing: it is tried again."""
    if row.state not in (FileState.IMPORTED, FileState.FAILED):
        return
    data = {
        "source": await _source_json(session, row.tenant_id, row.data_source_id),
        "file": _file_json(row),
    }
    if row.state == FileState.FAILED:
        await record(session, row.tenant_id, ev.FILE_FAILED, {**data, "error": row.error})
        return
    await record(session, row.tenant_id, ev.FILE_IMPORTED, data)
    if row.rows_with_errors > 0:
        errors = await _first_errors(session, row.tenant_id, row.id)
        await record(session, row.tenant_id, ev.FILE_REJECTED_ROWS, {**data, "errors": errors})


def _run_json(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "trigger": run.trigger,
        "outcome": run.outcome,
        "startedAt": iso_millis(run.started_at),
        "finishedAt": iso_millis(run.finished_at),
        "filesSeen": run.files_seen,
        "filesImported": run.files_imported,
        "filesSkipped": run.files_skipped,
        "filesFailed": run.files_failed,
        "rowsOk": run.rows_ok,
        "rowsWithErrors": run.rows_with_errors,
        "errorCode": run.error_code,
        "message": run.message,
    }


async def run_outcome(
    session: AsyncSession, tenant_id: int, run_id: int, *, previous_failures: int | None = None
) -> None:
    """The events of a finished run, in the transaction that writes its outcome: succeeded or failed
    (a partial run is a failed one, its outcome says which); and, given the source's failure count
    before the run, whether the source is now failing or has recovered."""
    run = await session.scalar(select(Run).where(Run.tenant_id == tenant_id, Run.id == run_id))
    if run is None or run.outcome in (RunOutcome.QUEUED, RunOutcome.RUNNING, RunOutcome.SKIPPED):
        return
    source = await session.scalar(
        select(DataSource)
        .where(DataSource.tenant_id == tenant_id, DataSource.id == run.data_source_id)
        .execution_options(populate_existing=True)  # its failure count was just changed by an UPDATE
    )
    if source is None:
        return
    data = {"source": {"id": source.id, "name": source.name}, "run": _run_json(run)}
    succeeded = run.outcome == RunOutcome.SUCCEEDED
    await record(session, tenant_id, ev.RUN_SUCCEEDED if succeeded else ev.RUN_FAILED, data)
    if run.error_code == "HostKeyChanged":
        await record(session, tenant_id, ev.SOURCE_HOST_KEY_CHANGED, data)
    if previous_failures is None:
        return
    failures = source.failure_count
    if failures == ev.FAILING_AFTER and previous_failures < ev.FAILING_AFTER:
        await record(session, tenant_id, ev.SOURCE_FAILING, {**data, "failureCount": failures})
    elif failures == 0 and previous_failures >= ev.FAILING_AFTER:
        await record(session, tenant_id, ev.SOURCE_RECOVERED, {**data, "failedRunsBefore": previous_failures})
