"""One file, one transaction: the pipeline every file goes through, pulled or uploaded.

The file's rows, its row errors and its ledger entry commit together or not at all. A file that cannot
be read is recorded as failed; any other error rolls the transaction back and the file is recorded as
rolled back, to be imported again by the next run.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import anyio

from headwater import metrics
from headwater.clock import utcnow
from headwater.domain import FileState
from headwater.errors import FileUnreadable, HeadwaterError
from headwater.logging import get_logger
from headwater.processors import processor_for
from headwater.processors.base import Batch, ProcessOptions, RowError
from headwater.runtime import Runtime
from headwater.store import imports as ledger_store
from headwater.store import records as record_store
from headwater.store.tables import DataSource
from headwater.webhooks import outbox as webhook_outbox

log = get_logger(__name__)


@dataclass
class FileOutcome:
    path: str
    state: str  # imported, failed, rolledback, skipped
    file_id: int | None = None
    rows: int = 0
    rows_ok: int = 0
    rows_with_errors: int = 0
    rows_skipped: int = 0
    rows_rollbacked: int = 0
    error: str | None = None
    error_code: str | None = None


class HashingSink:
    """Writes through to a file while computing the content's SHA-256."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self.target.write(data)

    def flush(self) -> None:
        self.target.flush()


async def _in_thread(batches: Iterator[Batch]) -> AsyncIterator[Batch]:
    """Pull batches from a blocking generator without blocking the event loop."""
    while (batch := await anyio.to_thread.run_sync(next, batches, None)) is not None:
        yield batch


def _rows_in(errors: list[RowError]) -> int:
    return len({error.line for error in errors if error.line is not None})


@dataclass(frozen=True)
class FileJob:
    tenant_id: int
    source_id: int
    processor_type: int
    path: str
    name: str
    local: Path
    checksum: str
    size: int
    mtime: datetime | None
    identity: str | None
    run_id: int | None
    reimport: bool
    options: ProcessOptions


async def import_local_file(runtime: Runtime, job: FileJob) -> FileOutcome:
    """One file, one transaction. Unreadable files are recorded as failed; other errors roll back."""
    processor = processor_for(job.processor_type)
    outcome = FileOutcome(path=job.path, state=FileState.IMPORTED)
    values = ledger_values(job)
    try:
        async with runtime.db.session() as session:
            row = await ledger_store.claim_file(
                session, job.tenant_id, job.source_id, job.path, state="importing", **values
            )
            outcome.file_id = row.id
            if job.reimport:
                await record_store.delete_file_records(session, job.tenant_id, row.id)
            await ledger_store.clear_errors(session, job.tenant_id, row.id)
            info, batches = await anyio.to_thread.run_sync(processor.read, job.local, job.options)
            row.file_type = info.file_type
            async for batch in _in_thread(batches):
                result = await record_store.write_batch(
                    session, job.processor_type, job.tenant_id, job.source_id, row.id, batch.records
                )
                errors = [*batch.errors, *result.errors]
                await ledger_store.add_errors(session, job.tenant_id, row.id, errors)
                # A row can have several errors; rows are counted once. Rows the parser rejected never
                # reached the batch's records; rows the writer rejected are among them.
                outcome.rows += batch.records.num_rows + _rows_in(batch.errors)
                outcome.rows_ok += result.inserted
                outcome.rows_skipped += result.skipped
                outcome.rows_with_errors += _rows_in(errors)
            row.state = FileState.IMPORTED
            row.error = None
            row.rows = outcome.rows
            row.rows_ok = outcome.rows_ok
            row.rows_with_errors = outcome.rows_with_errors
            row.rows_skipped = outcome.rows_skipped
            row.rows_rollbacked = 0
            row.finished_at = utcnow()
            await webhook_outbox.file_outcome(session, row)
    except FileUnreadable as exc:
        outcome = FileOutcome(
            path=job.path, state=FileState.FAILED, error=f"{exc.code}: {exc.message}", error_code=exc.code
        )
        outcome.file_id = await record_unimported(runtime, job, values, FileState.FAILED, outcome)
    except HeadwaterError:
        raise
    except Exception as exc:  # a database or driver error: the transaction is gone, the file is retried
        log.error("file import rolled back", source_id=job.source_id, path=job.path, exc_info=True)
        outcome.state = FileState.ROLLED_BACK
        outcome.rows_rollbacked, outcome.rows_ok, outcome.rows_skipped = outcome.rows_ok, 0, 0
        outcome.error = f"rolled back: {type(exc).__name__}"
        outcome.error_code = "RolledBack"
        outcome.file_id = await record_unimported(runtime, job, values, FileState.ROLLED_BACK, outcome)
    metrics.count_file(outcome.state)
    metrics.count_rows(
        imported=outcome.rows_ok, rejected=outcome.rows_with_errors, skipped=outcome.rows_skipped
    )
    return outcome


async def record_unimported(
    runtime: Runtime, job: FileJob, values: dict[str, Any], state: str, outcome: FileOutcome
) -> int | None:
    """Note a file that imported nothing, without touching rows an earlier version of it imported."""
    try:
        async with runtime.db.session() as session:
            row = await ledger_store.claim_file(
                session,
                job.tenant_id,
                job.source_id,
                job.path,
                state=state,
                error=outcome.error,
                rows=outcome.rows,
                rows_ok=0,
                rows_with_errors=0,
                rows_skipped=0,
                rows_rollbacked=outcome.rows_rollbacked,
                finished_at=utcnow(),
                **values,
            )
            await webhook_outbox.file_outcome(session, row)
            return row.id
    except Exception:
        log.error(
            "could not record the file's failure", source_id=job.source_id, path=job.path, exc_info=True
        )
        return None


def ledger_values(job: FileJob) -> dict[str, Any]:
    return {
        "name": job.name[:1000],
        "size": job.size,
        "mtime": job.mtime,
        "identity": job.identity,
        "checksum": job.checksum or None,
        "processor_type": job.processor_type,
        "run_id": job.run_id,
        "started_at": utcnow(),
    }


def process_options(source: DataSource) -> ProcessOptions:
    return ProcessOptions(
        amount_calculated=source.amount_calculated,
        file_import_type=source.file_import_type or "PARTY",
    )
