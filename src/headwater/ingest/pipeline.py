"""One file, all or nothing: the pipeline every file goes through, pulled or uploaded.

The file's rows, its row errors and its ledger entry become visible together or not at all. A file
that cannot be read is recorded as failed; any other error discards what it wrote and the file is
recorded as rolled back, to be imported again by the next run.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import anyio
import anyio.to_thread
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from headwater import metrics
from headwater.clock import utcnow
from headwater.domain import FileOutcomeState, FileState, RowError
from headwater.errors import FileUnreadable, HeadwaterError, ImportContended, StoreBusy
from headwater.ingest.processors import processor_for
from headwater.ingest.processors.base import Batch, FileInfo, GrowingFile, ProcessOptions, ReadAhead
from headwater.ingest.processors.common import TableProcessor
from headwater.ingest.processors.rejected import with_row_texts
from headwater.ingest.progress import RowsReporter
from headwater.logging import get_logger
from headwater.runtime import Runtime
from headwater.store import imports as ledger_store
from headwater.store import records as record_store
from headwater.store.tables import DataSource, ImportFile
from headwater.webhooks import outbox as webhook_outbox

log = get_logger(__name__)

# Rows per transaction of a file imported in batches (SQLite): the database's one writer is held for
# a few milliseconds at a time, so that other writers (API requests) wait little.
PENDING_ROWS = 2_000
# The same in the process that serves the APIs, whose writers queue for their turn rather than poll
# SQLite's lock: a request waits one piece at most, and fewer, larger pieces cost the import less. A
# 1,000,000-row upload with 4 API writers took 5.6-6.4 s in pieces of 10,000 against 9.4-9.5 s in
# pieces of 2,000, the writers' p99 78-92 ms against 53-57 ms; 20,000 gained nothing more.
PENDING_ROWS_SERVING = 10_000
# After each of those transactions, an import in a process that does not serve the APIs (``headwater
# run``) leaves the writer free for this share of the time it held it. The API's writers, in another
# process, wait for it in SQLite's busy handler, which tries again at growing intervals of up to 100 ms
# and seldom tried in the instant between two transactions back to back: during a 1,000,000-row import,
# API writes had a p99 of 201 ms (max 659 ms) without a pause, 102 ms (max 179 ms) with a quarter, for
# 7% of the import's speed; half cost a third of it. In the serving process the API's writers take the
# writer in turn with the import (``store.writer_turns``) and the pause would only slow it: an upload of
# 1,000,000 rows took 4.2-4.7 s without it against 5.0-5.6 s, and with 4 writers 9.4-9.6 s against
# 10.6-12.0 s, their p99 52-54 ms against 47-49 ms. When no process serves the store at all
# (``store.presence``), an import of its own writes pieces of ``PENDING_ROWS_SERVING`` and does not pause:
# a 1,000,000-row ``headwater run`` took 7.2-8.0 s against 10.9-14.0 s, and another process's writes
# during a 5,000,000-row one still found the writer free while the next piece was made (p50 13 ms, max
# 334 ms).
PENDING_PAUSE = 0.25
# Pending rows of a failed or abandoned file removed per transaction.
DISCARD_ROWS = 20_000
# Batches read, validated and encoded ahead of the one being written: enough to keep the database
# busy while the next is made, few enough that memory stays flat.
PREPARED_AHEAD = 2

T = TypeVar("T")


@dataclass
class FileOutcome:
    path: str
    state: FileOutcomeState
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


class DownloadStopped(Exception):
    """The import of a file still downloading has ended without it: the rest is not wanted."""


class GrowingSink:
    """Writes a download through to its file and tells its reader how far it got; ``stop`` ends the
    download at its next chunk."""

    def __init__(self, target: HashingSink, growing: GrowingFile) -> None:
        self.target = target
        self.growing = growing
        self.stopped = False

    def write(self, data: bytes) -> int:
        if self.stopped:
            raise DownloadStopped
        written = self.target.write(data)
        self.target.flush()  # the reader opens the file by its name: what it is told of is there
        self.growing.grew(self.target.size)
        return written

    def flush(self) -> None:
        self.target.flush()


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_END = object()


@asynccontextmanager
async def _made_ahead(
    items: Iterator[T], ahead: int = PREPARED_AHEAD, interrupt: Callable[[], None] | None = None
) -> AsyncIterator[AsyncIterator[T]]:
    """The items of a blocking iterator, made in a thread of their own up to ``ahead`` items ahead of
    the caller: the thread reads, validates and encodes the next batches while the database writes
    the current one, and the bounded queue keeps memory flat however slow the database is. An error
    of the iterator reaches the caller as it was raised; a caller that stops early stops the thread,
    which closes the iterator (and so its files); ``interrupt`` wakes an iterator waiting for its
    input (a file still arriving) so that it can stop."""
    made: queue.Queue[Any] = queue.Queue(ahead)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                made.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def pump() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:  # handed over, to be raised where the items are taken
            put(_Failed(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    async def taken() -> AsyncIterator[T]:
        while True:
            item = await anyio.to_thread.run_sync(made.get, abandon_on_cancel=True)
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item

    thread = threading.Thread(target=pump, name="headwater-batches", daemon=True)
    thread.start()
    try:
        yield taken()
    finally:
        stop.set()
        if interrupt is not None and thread.is_alive():
            interrupt()
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(thread.join)


def _storable_text(text: str | None) -> str | None:
    """PostgreSQL cannot store a NUL in text."""
    return None if text is None else text.replace("\x00", "\ufffd")


def _rows_in(errors: list[RowError]) -> int:
    return len({error.line for error in errors if error.line is not None})


@dataclass(frozen=True)
class FileFacts:
    """What is known of a file before it is downloaded: whose it is, what the listing says, how to read it."""

    tenant_id: int
    source_id: int
    processor_type: int
    path: str
    name: str
    size: int
    mtime: datetime | None
    identity: str | None
    run_id: int | None
    options: ProcessOptions


@dataclass(frozen=True)
class FileJob(FileFacts):
    """A file on local disk, ready to import; ``reimport``: rows an earlier version left are replaced."""

    local: Path
    checksum: str
    reimport: bool
    # PostgreSQL only: the file is still downloading into ``local``, its rows are written as they
    # arrive; the checksum and size are the download's once it has ended.
    growing: GrowingFile | None = None

    @classmethod
    def downloaded(
        cls,
        facts: FileFacts,
        *,
        local: Path,
        checksum: str,
        size: int,
        reimport: bool,
        growing: GrowingFile | None = None,
    ) -> FileJob:
        known = {f.name: getattr(facts, f.name) for f in fields(FileFacts)}
        return cls(
            **{**known, "size": size}, local=local, checksum=checksum, reimport=reimport, growing=growing
        )


async def import_local_file(runtime: Runtime, job: FileJob, rows: RowsReporter | None = None) -> FileOutcome:
    """One file, imported all or nothing. Unreadable files are recorded as failed; other errors roll back.

    PostgreSQL writes the file in one transaction (other writers go on meanwhile). SQLite has one
    writer for the whole database, so there a new file's batches commit one by one while its ledger row
    says ``importing`` (no reader sees them) and the file turns imported in one short last step; a file
    that replaces rows (a re-import, an upsert of keys other files hold) is written in one transaction.

    ``rows`` hears how many rows were read so far, batch after batch.
    """
    processor = processor_for(job.processor_type)
    values = ledger_values(job, job.checksum)
    try:
        outcome = None
        if not runtime.db.is_postgres:
            outcome = await _import_in_batches(runtime, job, processor, values, rows)
        if outcome is None:
            outcome = await _import_in_one_transaction(runtime, job, processor, values, rows)
    except FileUnreadable as exc:
        outcome = FileOutcome(
            path=job.path,
            state=FileOutcomeState.FAILED,
            error=f"{exc.code}: {exc.message}",
            error_code=exc.code,
        )
        outcome.file_id = await record_unimported(runtime, job, values, FileState.FAILED, outcome)
    except _RolledBack as exc:
        outcome = exc.outcome
        cause = exc.__cause__
        log.error("file import rolled back", source_id=job.source_id, path=job.path, exc_info=cause)
        outcome.state = FileOutcomeState.ROLLED_BACK
        outcome.rows_rollbacked, outcome.rows_ok, outcome.rows_skipped = outcome.rows_ok, 0, 0
        outcome.error = f"rolled back: {type(cause).__name__}"
        outcome.error_code = "RolledBack"
        outcome.file_id = await record_unimported(runtime, job, values, FileState.ROLLED_BACK, outcome)
    metrics.count_file(outcome.state)
    metrics.count_rows(
        imported=outcome.rows_ok, rejected=outcome.rows_with_errors, skipped=outcome.rows_skipped
    )
    if runtime.db.is_postgres and outcome.state == FileOutcomeState.IMPORTED:
        await _refresh_statistics(runtime, job, outcome.rows_ok)
    return outcome


async def _refresh_statistics(runtime: Runtime, job: FileFacts, added: int) -> None:
    """After the file has committed: a failure here costs only planner statistics, never the file."""
    try:
        analyzed = await record_store.refresh_statistics(runtime.db.engine, job.processor_type, added)
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        log.info(
            "record table statistics left to autovacuum", source_id=job.source_id, reason=type(cause).__name__
        )
        return
    if analyzed:
        log.info("record table statistics refreshed", source_id=job.source_id, rows=added)


class _RolledBack(Exception):
    """A database or driver error (or a contended sale): nothing of the file stays, it is retried."""

    def __init__(self, outcome: FileOutcome) -> None:
        super().__init__(outcome.path)
        self.outcome = outcome


class _HeldByOthers(Exception):
    """A pending batch met rows of other files it may not replace before the file commits."""


def _rolls_back(error: BaseException) -> bool:
    return isinstance(error, ImportContended | StoreBusy) or not isinstance(error, HeadwaterError)


Prepared = tuple[Batch, record_store.PreparedBatch]


def _prepared(
    batches: Iterator[Batch], job: FileJob, owner: record_store.Owner, *, postgres: bool, piece_rows: int = 0
) -> Iterator[Prepared]:
    """The file's batches (in pieces of ``piece_rows`` when given) with what the database is sent made
    ready; blocking, run by ``_made_ahead``."""
    for batch in batches:
        for piece in _pieces(batch, piece_rows) if piece_rows else (batch,):
            yield (
                piece,
                record_store.prepare_batch(job.processor_type, piece.records, owner, postgres=postgres),
            )


async def _write(
    session: AsyncSession,
    job: FileJob,
    owner: record_store.Owner,
    prepared: Prepared,
    outcome: FileOutcome,
    *,
    pending: bool,
    rows: RowsReporter | None,
    file_write: record_store.FileWrite | None = None,
) -> None:
    batch, ready = prepared
    result = await record_store.write_prepared(
        session, job.processor_type, owner, ready, pending=pending, file_write=file_write
    )
    if result.held_by_others:
        raise _HeldByOthers
    errors = [*batch.errors, *with_row_texts(result.errors, batch.cells, batch.delimiter)]
    await ledger_store.add_errors(session, job.tenant_id, owner.file_id, errors)
    # A row can have several errors; rows are counted once. Rows the parser rejected never
    # reached the batch's records; rows the writer rejected are among them.
    outcome.rows += batch.records.num_rows + _rows_in(batch.errors)
    outcome.rows_ok += result.inserted
    outcome.rows_skipped += result.skipped
    outcome.rows_with_errors += _rows_in(errors)
    if rows is not None:
        rows.rows(outcome.rows)


def _read_file_info(row: ImportFile, info: FileInfo) -> None:
    row.file_type = info.file_type
    row.header_line = _storable_text(info.header_line)
    row.delimiter = info.delimiter


def _mark_imported(row: ImportFile, outcome: FileOutcome) -> None:
    row.state = FileState.IMPORTED
    row.error = None
    row.rows = outcome.rows
    row.rows_ok = outcome.rows_ok
    row.rows_with_errors = outcome.rows_with_errors
    row.rows_skipped = outcome.rows_skipped
    row.rows_rollbacked = 0
    row.finished_at = utcnow()


async def _import_in_one_transaction(
    runtime: Runtime,
    job: FileJob,
    processor: TableProcessor,
    values: dict[str, Any],
    rows: RowsReporter | None,
) -> FileOutcome:
    outcome = FileOutcome(path=job.path, state=FileOutcomeState.IMPORTED)
    try:
        async with runtime.db.session() as session:
            row = await ledger_store.claim_file(
                session, job.tenant_id, job.source_id, job.path, state=FileState.IMPORTING, **values
            )
            outcome.file_id = row.id
            if job.reimport:
                await record_store.delete_file_records(session, job.tenant_id, row.id)
            await ledger_store.clear_errors(session, job.tenant_id, row.id)
            growing = job.growing
            info, batches = await anyio.to_thread.run_sync(processor.read, job.local, job.options, growing)
            _read_file_info(row, info)
            owner = record_store.Owner(job.tenant_id, job.source_id, row.id)
            postgres = runtime.db.is_postgres
            ahead = _prepared(batches, job, owner, postgres=postgres)
            file_write = record_store.FileWrite()
            async with _made_ahead(ahead, interrupt=None if growing is None else growing.release) as ready:
                async for prepared in ready:
                    await _write(
                        session,
                        job,
                        owner,
                        prepared,
                        outcome,
                        pending=False,
                        rows=rows,
                        file_write=file_write,
                    )
            if growing is not None:
                row.checksum, row.size = growing.checksum, growing.size
            if rows is not None:
                rows.done(outcome.rows)
            _mark_imported(row, outcome)
            await webhook_outbox.file_outcome(session, row)
    except ReadAhead:
        raise  # nothing of it stays; the engine reads the file again once it has arrived
    except Exception as exc:
        if not _rolls_back(exc):
            raise
        raise _RolledBack(outcome) from exc
    return outcome


async def _import_in_batches(
    runtime: Runtime,
    job: FileJob,
    processor: TableProcessor,
    values: dict[str, Any],
    rows: RowsReporter | None,
) -> FileOutcome | None:
    """Each batch in its own transaction, the file's rows pending until the last one flips the ledger
    row to imported. None when the file must replace rows (nothing of it is left then)."""
    outcome = FileOutcome(path=job.path, state=FileOutcomeState.IMPORTED)
    async with runtime.db.session() as session:
        current = await ledger_store.file_by_path(session, job.tenant_id, job.source_id, job.path)
        if current is not None and current.state not in (FileState.FAILED, FileState.IMPORTING):
            if await record_store.has_file_records(session, job.tenant_id, current.id):
                return None  # rows of an earlier version are replaced, in one transaction
        row = await ledger_store.claim_file(
            session,
            job.tenant_id,
            job.source_id,
            job.path,
            state=FileState.IMPORTING,
            error=None,
            rows=0,
            rows_ok=0,
            rows_with_errors=0,
            rows_skipped=0,
            rows_rollbacked=0,
            finished_at=None,
            **values,
        )
        file_id = outcome.file_id = row.id
    try:
        # Rows a process that died while importing this file left behind, never visible.
        await discard_pending_rows(runtime, job.tenant_id, file_id)
        info, batches = await anyio.to_thread.run_sync(processor.read, job.local, job.options)
        owner = record_store.Owner(job.tenant_id, job.source_id, file_id)
        # One large piece ahead keeps the writer as busy as two small ones, for 5 MB less.
        large = runtime.serves_api or not runtime.db.may_be_served()
        piece_rows, ahead = (PENDING_ROWS_SERVING, 1) if large else (PENDING_ROWS, PREPARED_AHEAD)
        pieces = _prepared(batches, job, owner, postgres=False, piece_rows=piece_rows)
        async with _made_ahead(pieces, ahead) as ready:
            async for prepared in ready:
                started = time.monotonic()
                async with runtime.db.session() as session:
                    await _write(session, job, owner, prepared, outcome, pending=True, rows=rows)
                    await _still_importing(session, job.tenant_id, file_id)
                if not runtime.serves_api and runtime.db.may_be_served():
                    await anyio.sleep((time.monotonic() - started) * PENDING_PAUSE)
        if rows is not None:
            rows.done(outcome.rows)
        async with runtime.db.session() as session:
            row = await _still_importing(session, job.tenant_id, file_id)
            _read_file_info(row, info)
            _mark_imported(row, outcome)
            await webhook_outbox.file_outcome(session, row)
        return outcome
    except _HeldByOthers:
        await discard_pending_rows(runtime, job.tenant_id, file_id)
        return None
    except Exception as exc:
        if _rolls_back(exc):
            raise _RolledBack(outcome) from exc
        raise


def _pieces(batch: Batch, rows: int) -> Iterator[Batch]:
    """The batch in pieces of ``rows`` records, the parser's errors with the first; each keeps the
    batch's cells (rows are found there by line) for the text of rows the writer rejects."""
    records = batch.records
    yield Batch(records.slice(0, rows), batch.errors, batch.cells, batch.delimiter)
    for offset in range(rows, records.num_rows, rows):
        yield Batch(records.slice(offset, rows), [], batch.cells, batch.delimiter)


async def _still_importing(session: AsyncSession, tenant_id: int, file_id: int) -> ImportFile:
    """The file's ledger row, unless someone took it for abandoned meanwhile (then its pending rows
    may be gone, and rows written now would be seen): then the file rolls back."""
    row = await ledger_store.get_file(session, tenant_id, file_id)
    if row.state != FileState.IMPORTING:
        raise ImportContended("the file was taken for abandoned while it was importing")
    return row


async def discard_pending_rows(runtime: Runtime, tenant_id: int, file_id: int) -> None:
    """Remove what a file still importing wrote, a short transaction at a time (none of it is visible)."""
    while True:
        async with runtime.db.session() as session:
            if not await record_store.delete_some_file_records(session, tenant_id, file_id, DISCARD_ROWS):
                await ledger_store.clear_errors(session, tenant_id, file_id)
                return


async def discard_abandoned_imports(
    runtime: Runtime, *, tenant_id: int | None = None, source_id: int | None = None, pulled_only: bool = False
) -> int:
    """Files a process that died left ``importing``: their pending rows go, the files are rolled back
    (and imported again at the next run). Call only when no import of those files can be under way."""
    async with runtime.db.session() as session:
        abandoned = await ledger_store.files_in_state(
            session, FileState.IMPORTING, tenant_id=tenant_id, source_id=source_id, pulled_only=pulled_only
        )
    for file_tenant, file_id in abandoned:
        await discard_pending_rows(runtime, file_tenant, file_id)
        async with runtime.db.session() as session:
            row = await ledger_store.get_file(session, file_tenant, file_id)
            if row.state == FileState.IMPORTING:
                row.state = FileState.ROLLED_BACK
                row.error = "rolled back: the process importing it stopped"
                row.finished_at = utcnow()
    return len(abandoned)


async def record_unimported(
    runtime: Runtime, job: FileFacts, values: dict[str, Any], state: str, outcome: FileOutcome
) -> int | None:
    """Note a file that imported nothing, without touching rows an earlier version of it imported."""
    try:
        if outcome.file_id is not None:
            await discard_pending_rows_of(runtime, job, outcome.file_id)
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


async def discard_pending_rows_of(runtime: Runtime, job: FileFacts, file_id: int) -> None:
    """A file left importing by its own failed import: its pending rows go before it is recorded."""
    async with runtime.db.session() as session:
        row = await ledger_store.get_file(session, job.tenant_id, file_id)
        pending = row.state == FileState.IMPORTING
    if pending:
        await discard_pending_rows(runtime, job.tenant_id, file_id)


def ledger_values(file: FileFacts, checksum: str | None = None) -> dict[str, Any]:
    """The ledger row's columns for ``file``; ``checksum`` once it is downloaded."""
    return {
        "name": file.name[:1000],
        "size": file.size,
        "mtime": file.mtime,
        "identity": file.identity,
        "checksum": checksum or None,
        "processor_type": file.processor_type,
        "run_id": file.run_id,
        "started_at": utcnow(),
    }


def process_options(source: DataSource) -> ProcessOptions:
    return ProcessOptions(
        amount_calculated=source.amount_calculated,
        file_import_type=source.file_import_type or "PARTY",
    )
