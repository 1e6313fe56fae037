"""Runs, the file ledger and row errors, always scoped by tenant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.clock import as_utc, utcnow
from headwater.domain import FileState, RunOutcome, SourceStatus
from headwater.store.queries import inserted, one_or_not_found
from headwater.store.tables import DataSource, ImportErrorRow, ImportFile, Run

# The error code of a run whose process stopped under it.
INTERRUPTED = "Interrupted"


@dataclass(frozen=True)
class LedgerEntry:
    file_id: int
    size: int | None
    mtime: datetime | None
    identity: str | None
    checksum: str | None
    state: str


async def ledger(session: AsyncSession, tenant_id: int, source_id: int) -> dict[str, LedgerEntry]:
    """Every file the source has seen, in one query, keyed by path."""
    rows = await session.execute(
        select(
            ImportFile.path,
            ImportFile.id,
            ImportFile.size,
            ImportFile.mtime,
            ImportFile.identity,
            ImportFile.checksum,
            ImportFile.state,
        ).where(ImportFile.tenant_id == tenant_id, ImportFile.data_source_id == source_id)
    )
    return {
        path: LedgerEntry(file_id, size, None if mtime is None else as_utc(mtime), identity, checksum, state)
        for path, file_id, size, mtime, identity, checksum, state in rows
    }


async def start_run(
    session: AsyncSession, tenant_id: int, source_id: int, trigger: str, *, queued_run_id: int | None = None
) -> Run:
    """The run under way: the queued run ``queued_run_id`` when it still waits, else a new one."""
    now = utcnow()
    run = None
    if queued_run_id is not None:
        run = await session.scalar(
            select(Run).where(
                Run.tenant_id == tenant_id,
                Run.data_source_id == source_id,
                Run.id == queued_run_id,
                Run.outcome.in_((RunOutcome.QUEUED, RunOutcome.RUNNING)),
            )
        )
    if run is None:
        run = await inserted(
            session,
            Run(
                tenant_id=tenant_id,
                data_source_id=source_id,
                trigger=trigger,
                queued_at=now,
                started_at=now,
                outcome=RunOutcome.RUNNING,
            ),
        )
    else:
        run.started_at = now
        run.outcome = RunOutcome.RUNNING
        await session.flush()
    await refresh_source_runs(session, tenant_id, source_id)
    return run


async def queue_run(session: AsyncSession, tenant_id: int, source_id: int, trigger: str) -> Run:
    """A run asked for and not yet started, shown as ``queued`` until a runner takes it."""
    run = await inserted(
        session,
        Run(
            tenant_id=tenant_id,
            data_source_id=source_id,
            trigger=trigger,
            queued_at=utcnow(),
            outcome=RunOutcome.QUEUED,
        ),
    )
    await refresh_source_runs(session, tenant_id, source_id)
    return run


async def drop_queued_run(session: AsyncSession, tenant_id: int, source_id: int, run_id: int) -> None:
    """A queued run no runner took (one of the source was already waiting or under way)."""
    await session.execute(
        delete(Run).where(
            Run.tenant_id == tenant_id,
            Run.data_source_id == source_id,
            Run.id == run_id,
            Run.outcome == RunOutcome.QUEUED,
        )
    )
    await refresh_source_runs(session, tenant_id, source_id)


async def close_interrupted_runs(
    session: AsyncSession, tenant_id: int, source_id: int, *, except_run_id: int | None = None
) -> int:
    """Runs of the source still marked running when a new one starts: their process died (runs of one
    source never overlap), so they are closed as failed."""
    query = update(Run).where(
        Run.tenant_id == tenant_id, Run.data_source_id == source_id, Run.outcome == RunOutcome.RUNNING
    )
    if except_run_id is not None:
        query = query.where(Run.id != except_run_id)
    result = await session.execute(
        query.values(
            outcome=RunOutcome.FAILED,
            error_code=INTERRUPTED,
            message="interrupted: the process running it stopped",
            finished_at=utcnow(),
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def close_abandoned_runs(session: AsyncSession) -> None:
    """At start-up of the embedded runner, across tenants: no run of an earlier process is still under
    way or will ever be taken from its in-memory queue."""
    now = utcnow()
    touched = (
        await session.execute(
            select(Run.tenant_id, Run.data_source_id)
            .where(Run.outcome.in_((RunOutcome.QUEUED, RunOutcome.RUNNING)))
            .distinct()
        )
    ).all()
    await session.execute(
        update(Run)
        .where(Run.outcome == RunOutcome.RUNNING)
        .values(
            outcome=RunOutcome.FAILED,
            error_code=INTERRUPTED,
            message="interrupted: the process running it stopped",
            finished_at=now,
        )
    )
    await session.execute(
        update(Run)
        .where(Run.outcome == RunOutcome.QUEUED)
        .values(
            outcome=RunOutcome.SKIPPED,
            message="never started: the process it was queued in stopped",
            finished_at=now,
        )
    )
    for tenant_id, source_id in touched:
        await refresh_source_runs(session, tenant_id, source_id)


async def finish_run(session: AsyncSession, tenant_id: int, run_id: int, **values: Any) -> None:
    run = await session.scalar(select(Run).where(Run.tenant_id == tenant_id, Run.id == run_id))
    if run is None:
        return
    for key, value in {"finished_at": utcnow(), **values}.items():
        setattr(run, key, value)
    await session.flush()
    await refresh_source_runs(session, tenant_id, run.data_source_id)


async def record_finished_run(session: AsyncSession, tenant_id: int, source_id: int, **values: Any) -> Run:
    """A run that was over as soon as it began (an upload)."""
    now = utcnow()
    times = {"queued_at": now, "started_at": now, "finished_at": now}
    run = await inserted(session, Run(tenant_id=tenant_id, data_source_id=source_id, **{**times, **values}))
    await refresh_source_runs(session, tenant_id, source_id)
    return run


async def refresh_source_runs(session: AsyncSession, tenant_id: int, source_id: int) -> None:
    """Keep on the source what every dialect shows of its runs: the latest run's status, and the error
    of the latest finished run (none when it ended well)."""
    latest = await session.scalar(
        select(Run.outcome)
        .where(Run.tenant_id == tenant_id, Run.data_source_id == source_id)
        .order_by(Run.id.desc())
        .limit(1)
    )
    finished = (
        await session.execute(
            select(Run.error_code, Run.message, Run.finished_at)
            .where(
                Run.tenant_id == tenant_id,
                Run.data_source_id == source_id,
                Run.finished_at.is_not(None),
                Run.outcome != RunOutcome.SKIPPED,
            )
            .order_by(Run.id.desc())
            .limit(1)
        )
    ).first()
    code, message, at = finished if finished is not None and finished[0] is not None else (None, None, None)
    await session.execute(
        update(DataSource)
        .where(DataSource.tenant_id == tenant_id, DataSource.id == source_id)
        .values(last_run_status=latest, last_error_code=code, last_error_message=message, last_error_at=at)
    )


async def claim_file(
    session: AsyncSession,
    tenant_id: int,
    source_id: int,
    path: str,
    **values: Any,
) -> ImportFile:
    """The ledger row for ``path``, created or reset for a new import inside the caller's transaction."""
    row = await session.scalar(
        select(ImportFile)
        .where(
            ImportFile.tenant_id == tenant_id, ImportFile.data_source_id == source_id, ImportFile.path == path
        )
        .with_for_update()
    )
    if row is None:
        row = ImportFile(
            tenant_id=tenant_id, data_source_id=source_id, path=path, created_at=utcnow(), **values
        )
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    await session.flush()
    return row


async def file_by_path(session: AsyncSession, tenant_id: int, source_id: int, path: str) -> ImportFile | None:
    return await session.scalar(
        select(ImportFile).where(
            ImportFile.tenant_id == tenant_id, ImportFile.data_source_id == source_id, ImportFile.path == path
        )
    )


async def files_in_state(
    session: AsyncSession,
    state: str,
    *,
    tenant_id: int | None = None,
    source_id: int | None = None,
    pulled_only: bool = False,
) -> list[tuple[int, int]]:
    """(tenant, file) of the files in ``state``: of one source, or (operator start-up) of every tenant;
    ``pulled_only`` leaves uploaded files out."""
    query = select(ImportFile.tenant_id, ImportFile.id).where(ImportFile.state == state)
    if pulled_only:
        query = query.where(ImportFile.run_id.is_not(None))
    if tenant_id is not None:
        query = query.where(ImportFile.tenant_id == tenant_id)
    if source_id is not None:
        query = query.where(ImportFile.data_source_id == source_id)
    return [
        (file_tenant, file_id)
        for file_tenant, file_id in await session.execute(query.order_by(ImportFile.id))
    ]


async def clear_errors(session: AsyncSession, tenant_id: int, file_id: int) -> None:
    await session.execute(
        delete(ImportErrorRow).where(
            ImportErrorRow.tenant_id == tenant_id, ImportErrorRow.import_file_id == file_id
        )
    )


async def add_errors(session: AsyncSession, tenant_id: int, file_id: int, errors: Sequence[Any]) -> None:
    """Store row errors (``domain.RowError``) in batches."""
    if not errors:
        return
    rows = [
        {
            "tenant_id": tenant_id,
            "import_file_id": file_id,
            "line": error.line,
            "column": error.column,
            "code": error.code,
            "message": error.message[:2000],
            "raw_line": error.raw,
            "raw_truncated": error.raw_truncated,
        }
        for error in errors
    ]
    for start in range(0, len(rows), 5000):
        await session.execute(insert(ImportErrorRow), rows[start : start + 5000])


async def get_file(
    session: AsyncSession, tenant_id: int, file_id: int, *, source_id: int | None = None
) -> ImportFile:
    query = select(ImportFile).where(ImportFile.tenant_id == tenant_id, ImportFile.id == file_id)
    if source_id is not None:
        query = query.where(ImportFile.data_source_id == source_id)
    return await one_or_not_found(session, query, "ImportFile", file_id)


async def get_file_for_operator(session: AsyncSession, file_id: int) -> ImportFile:
    """Any tenant's file, by id: for operator commands on the local machine, never for an API."""
    return await one_or_not_found(
        session, select(ImportFile).where(ImportFile.id == file_id), "ImportFile", file_id
    )


async def request_reimport(
    session: AsyncSession, tenant_id: int, source_id: int, *, file_id: int | None = None
) -> int:
    """Mark the source's pulled files (or only ``file_id``) for import at the next run; how many were marked.

    Uploaded files are left alone: they are the ones recorded outside any run.
    """
    query = update(ImportFile).where(
        ImportFile.tenant_id == tenant_id,
        ImportFile.data_source_id == source_id,
        ImportFile.run_id.is_not(None),
    )
    if file_id is not None:
        query = query.where(ImportFile.id == file_id)
    result = await session.execute(query.values(state=FileState.REIMPORT_REQUESTED))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def list_files(session: AsyncSession, tenant_id: int, source_id: int) -> Sequence[ImportFile]:
    return (
        await session.scalars(
            select(ImportFile)
            .where(ImportFile.tenant_id == tenant_id, ImportFile.data_source_id == source_id)
            .order_by(ImportFile.id)
        )
    ).all()


async def list_errors(
    session: AsyncSession,
    tenant_id: int,
    file_id: int,
    *,
    limit: int = 1000,
    offset: int = 0,
    code: str | None = None,
) -> Sequence[ImportErrorRow]:
    query = select(ImportErrorRow).where(
        ImportErrorRow.tenant_id == tenant_id, ImportErrorRow.import_file_id == file_id
    )
    if code is not None:
        query = query.where(ImportErrorRow.code == code)
    return (await session.scalars(query.order_by(ImportErrorRow.id).limit(limit).offset(offset))).all()


async def error_codes(session: AsyncSession, tenant_id: int, file_id: int) -> list[tuple[str, int]]:
    """Each rejection code of the file with how many rows it rejected, most frequent first."""
    rows = await session.execute(
        select(ImportErrorRow.code, func.count())
        .where(ImportErrorRow.tenant_id == tenant_id, ImportErrorRow.import_file_id == file_id)
        .group_by(ImportErrorRow.code)
        .order_by(func.count().desc(), ImportErrorRow.code)
    )
    return [(code, int(count)) for code, count in rows]


async def list_runs(
    session: AsyncSession, tenant_id: int, source_id: int, *, limit: int = 100, offset: int = 0
) -> Sequence[Run]:
    """Newest first."""
    return (
        await session.scalars(
            select(Run)
            .where(Run.tenant_id == tenant_id, Run.data_source_id == source_id)
            .order_by(Run.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()


async def due_sources(session: AsyncSession, now: datetime) -> list[tuple[int, int]]:
    """Active pull sources whose next poll is due. Deliberately across tenants: the scheduler serves all."""
    rows = await session.execute(
        select(DataSource.tenant_id, DataSource.id)
        .where(
            DataSource.active.is_(True),
            DataSource.data_source_type.is_not(None),
            (DataSource.next_run_at.is_(None)) | (DataSource.next_run_at <= now),
        )
        .order_by(DataSource.next_run_at.nulls_first(), DataSource.id)
    )
    return [(tenant_id, source_id) for tenant_id, source_id in rows]


async def reset_working(session: AsyncSession) -> None:
    """At start-up of the embedded runner: no run of this process can still be under way."""
    await session.execute(
        update(DataSource).where(DataSource.status == SourceStatus.WORKING).values(status=SourceStatus.IDLE)
    )
