"""The import engine: one run of a source, each of its files through the per-file pipeline.

A run lists the working directory, compares each file with the ledger and imports what is new (or
changed, within ``reprocessingDays``). Each file is one database transaction: its rows, its row errors
and its ledger entry commit together or not at all, so a crash or a dropped connection leaves nothing
half-imported and the next run picks the file up again.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal

import anyio

from headwater import metrics
from headwater.access.crypto import SecretBox
from headwater.clock import utcnow
from headwater.domain import AfterImport, FileOutcomeState, FileState, RunOutcome, SourceStatus
from headwater.errors import (
    FieldProblem,
    SourceError,
    ValidationFailed,
)
from headwater.ingest import schedules
from headwater.ingest.connectors import connector_for
from headwater.ingest.connectors.base import ConnectionConfig, Connector, RemoteFile
from headwater.ingest.connectors.failures import scrub
from headwater.ingest.host_keys import host_key_fingerprint
from headwater.ingest.pipeline import (
    FileFacts,
    FileJob,
    FileOutcome,
    GrowingSink,
    HashingSink,
    discard_abandoned_imports,
    import_local_file,
    ledger_values,
    process_options,
    record_unimported,
)
from headwater.ingest.processors.base import GrowingFile, ReadAhead
from headwater.ingest.progress import (
    FileProgress,
    ProgressCallback,
    ReportingSink,
    RowsReporter,
    on_loop_thread,
)
from headwater.logging import get_logger
from headwater.runtime import Runtime
from headwater.settings import Settings
from headwater.store import imports as ledger_store
from headwater.store import sources as source_store
from headwater.store.imports import LedgerEntry
from headwater.store.tables import DataSource
from headwater.webhooks import outbox as webhook_outbox

log = get_logger(__name__)

Decision = Literal["new", "unchanged", "changed", "changed_outside_window", "retry", "reimport"]
ConnectorFactory = Callable[[ConnectionConfig, Settings], Connector]


@dataclass
class RunSummary:
    run_id: int | None
    source_id: int
    outcome: str
    message: str | None = None
    # Worth telling even when the run succeeds, e.g. that a new SFTP host key was pinned.
    note: str | None = None
    files_seen: int = 0
    files: list[FileOutcome] = field(default_factory=list)
    # Files imported whose afterImport step (MOVE, DELETE) failed: the run says so, it is not silent.
    after_import_failures: list[str] = field(default_factory=list)

    def count(self, state: FileOutcomeState) -> int:
        return sum(1 for f in self.files if f.state == state)


def decide(
    remote: RemoteFile, entry: LedgerEntry | None, reprocessing_days: int | None, now: datetime
) -> Decision:
    """What the ledger says about a listed file, before any download."""
    if entry is None:
        return "new"
    if entry.state == FileState.REIMPORT_REQUESTED:
        return "reimport"
    if entry.state in (FileState.ROLLED_BACK, FileState.IMPORTING):
        return "retry"
    same = entry.size == remote.size and entry.mtime == remote.mtime
    if remote.identity is not None and entry.identity is not None:
        same = same and entry.identity == remote.identity
    if same:
        return "unchanged"
    if entry.state == FileState.FAILED:
        return "retry"  # nothing of it was imported: a new version is simply a new file
    if reprocessing_days is None or reprocessing_days < 0:
        return "changed_outside_window"
    if remote.mtime is not None and remote.mtime < now - timedelta(days=reprocessing_days):
        return "changed_outside_window"
    return "changed"


def connection_config(source: DataSource, box: SecretBox) -> ConnectionConfig:
    if source.data_source_type is None or source.host is None:
        raise ValidationFailed(
            [FieldProblem("dataSourceType", "DataSourceTypeRequired", "not a pull source")]
        )
    return ConnectionConfig(
        kind=source.data_source_type,
        host=source.host,
        working_directory=source.working_directory or "/",
        port=source.port,
        user=source.user,
        password=box.decrypt_optional(source.password_enc),
        private_key=box.decrypt_optional(source.private_key_enc),
        passphrase=box.decrypt_optional(source.passphrase_enc),
        tls=source.tls,
        region=source.region,
        endpoint_url=source.endpoint_url,
        file_pattern=source.file_pattern or "*",
        exclude_pattern=source.exclude_pattern,
        recursive=source.recursive,
        pinned_host_key=source.host_key,
    )


async def _download(
    connector: Connector, path: str, directory: str, report: Callable[[int], None] | None = None
) -> tuple[Path, str, int]:
    """The file in ``directory``, its checksum and size; ``report`` hears the bytes written so far."""
    handle = tempfile.NamedTemporaryFile(prefix="headwater-", dir=directory, delete=False)
    local = Path(handle.name)
    try:
        checksum, size = await _fetch(connector, path, handle, report)
        return local, checksum, size
    except BaseException:
        local.unlink(missing_ok=True)
        raise


async def _fetch(
    connector: Connector,
    path: str,
    handle: IO[bytes],
    report: Callable[[int], None] | None,
    growing: GrowingSink | None = None,
) -> tuple[str, int]:
    """Download into ``handle`` (closed after), hashing; the checksum and size."""
    with handle:
        sink = HashingSink(handle) if growing is None else growing.target
        inner: Any = sink if growing is None else growing
        target = inner if report is None else ReportingSink(inner, on_loop_thread(report))
        await connector.download(path, target)  # type: ignore[arg-type]
        sink.flush()
    if report is not None:
        report(sink.size)
    return sink.hash.hexdigest(), sink.size


async def _import_as_it_arrives(
    runtime: Runtime,
    connector: Connector,
    remote: RemoteFile,
    directory: str,
    facts: FileFacts,
    *,
    reimport: bool,
    progress: FileProgress | None,
) -> FileOutcome:
    """PostgreSQL: download the file and import its rows as they arrive, in the file's one
    transaction, so that the download, the parsing and the COPY overlap. Should the file prove to
    need all of it first (``ReadAhead``), that transaction is undone and the file imported again once
    it is all there; a download that fails leaves the file as if it had never been tried."""
    handle = tempfile.NamedTemporaryFile(prefix="headwater-", dir=directory, delete=False)
    local = Path(handle.name)
    growing = GrowingFile(local)
    sink = GrowingSink(HashingSink(handle), growing)
    report = None if progress is None else progress.downloaded
    transfer: SourceError | None = None
    unexpected: BaseException | None = None

    async def fetch() -> None:
        nonlocal transfer, unexpected
        try:
            checksum, size = await _fetch(connector, remote.path, handle, report, sink)
            growing.finish(checksum, size)
        except Exception as exc:
            if not sink.stopped:  # else the import ended without the rest of the file
                if isinstance(exc, SourceError):
                    transfer = exc
                else:
                    unexpected = exc
        finally:
            growing.fail()  # readers still waiting learn that nothing more will come

    rows = None if progress is None else RowsReporter(progress.read)
    # The checksum and size are the download's, known once it has ended (``GrowingFile.finish``).
    job = FileJob.downloaded(
        facts, local=local, checksum="", size=facts.size, reimport=reimport, growing=growing
    )
    outcome: FileOutcome | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(fetch)
        try:
            outcome = await import_local_file(runtime, job, rows)
        except ReadAhead as exc:
            log.info("file read again once downloaded", source_id=job.source_id, path=job.path, why=str(exc))
        except Exception as exc:  # raised once the download has stopped, not as a group of one
            unexpected = exc
        if outcome is not None or unexpected is not None:
            sink.stopped = True  # a whole file imported has no more to come; else the rest is not wanted
    if unexpected is not None:
        raise unexpected
    if outcome is not None:
        return outcome
    if transfer is not None:
        log.warning("download failed", source_id=job.source_id, path=remote.path, error=transfer.message)
        return FileOutcome(
            path=remote.path,
            state=FileOutcomeState.TRANSFER_FAILED,
            error=transfer.message,
            error_code=transfer.code,
        )
    assert growing.checksum is not None
    whole = replace(job, checksum=growing.checksum, size=growing.size, growing=None)
    return await import_local_file(runtime, whole, None if progress is None else RowsReporter(progress.read))


async def _after_import(connector: Connector, source: DataSource, path: str) -> str | None:
    """Apply afterImport to an imported file; what went wrong, for the run's message, or None."""
    try:
        if source.after_import == AfterImport.DELETE:
            await connector.delete(path)
        elif source.after_import == AfterImport.MOVE and source.archive_directory:
            await connector.move(path, source.archive_directory)
    except SourceError as exc:
        log.warning("after-import step failed", source_id=source.id, path=path, error=exc.message)
        done = "deleted" if source.after_import == AfterImport.DELETE else "moved"
        return f"{path} was imported but could not be {done}: {exc.message}"
    return None


@dataclass(frozen=True)
class RunFailure:
    """Why a run failed as a whole, in words without secrets."""

    code: str
    message: str


INTERRUPTED = RunFailure(ledger_store.INTERRUPTED, "the run was interrupted")
MAX_MESSAGE = 2000


async def run_source(
    runtime: Runtime,
    tenant_id: int,
    source_id: int,
    *,
    trigger: str = "schedule",
    run_id: int | None = None,
    progress: ProgressCallback | None = None,
    connect: ConnectorFactory | None = None,
) -> RunSummary:
    """One run of one pull source. Safe to call again after a crash: the ledger decides what is left.

    ``run_id`` is the queued run this one carries out, if it was queued; ``connect`` builds the
    connector (tests pass the in-memory one).
    """
    notify = progress or (lambda _event, _data: None)
    started = time.monotonic()
    async with runtime.db.session() as session:
        source = await source_store.get(session, tenant_id, source_id)
        problem = _not_runnable(source)
        if problem is not None:
            if run_id is not None:
                await ledger_store.finish_run(
                    session,
                    tenant_id,
                    run_id,
                    outcome=RunOutcome.FAILED,
                    error_code=problem.code,
                    message=problem.message,
                )
            raise ValidationFailed([problem])
        await ledger_store.close_interrupted_runs(session, tenant_id, source_id, except_run_id=run_id)
        run = await ledger_store.start_run(session, tenant_id, source_id, trigger, queued_run_id=run_id)
        source.status = SourceStatus.WORKING
        config = connection_config(source, runtime.box)
    # Runs of one source never overlap: a pulled file still importing was left by a process that died.
    await discard_abandoned_imports(runtime, tenant_id=tenant_id, source_id=source_id, pulled_only=True)
    summary = RunSummary(run_id=run.id, source_id=source_id, outcome=RunOutcome.RUNNING)
    log.info("run started", tenant_id=tenant_id, source_id=source_id, run_id=run.id, trigger=trigger)
    failure: RunFailure | None = None
    try:
        failure = await _run_files(
            runtime, source, config, summary, notify, connect or connector_for, listening=progress is not None
        )
    except SourceError as exc:
        failure = RunFailure(exc.code, exc.message)
    except BaseException:
        failure = INTERRUPTED
        raise
    finally:
        secrets = (config.password, config.private_key, config.passphrase)
        await _finish(runtime, source, summary, failure, started, secrets)
    return summary


def _not_runnable(source: DataSource) -> FieldProblem | None:
    if source.data_source_type is None:
        return FieldProblem("dataSourceType", "NotAPullSource", "this source only takes uploads")
    if source.processor_type is None:
        return FieldProblem("processorType", "ProcessorTypeRequired", "no processor set")
    return None


async def _run_files(
    runtime: Runtime,
    source: DataSource,
    config: ConnectionConfig,
    summary: RunSummary,
    notify: ProgressCallback,
    connect: ConnectorFactory,
    *,
    listening: bool = False,
) -> RunFailure | None:
    now = utcnow()
    async with connect(config, runtime.settings) as connector:
        if source.host_key is None and connector.host_key is not None:
            async with runtime.db.session() as session:
                await source_store.set_status(
                    session, source.tenant_id, source.id, host_key=connector.host_key
                )
            summary.note = f"pinned new host key {host_key_fingerprint(connector.host_key)}"
            log.info(summary.note, tenant_id=source.tenant_id, source_id=source.id, run_id=summary.run_id)
        remote_files = await connector.list_files()
        async with runtime.db.session() as session:
            seen = await ledger_store.ledger(session, source.tenant_id, source.id)
        summary.files_seen = len(remote_files)
        plan: list[tuple[RemoteFile, Decision]] = []
        for remote in remote_files:
            decision = decide(remote, seen.get(remote.path), source.reprocessing_days, now)
            if decision in ("unchanged", "changed_outside_window"):
                summary.files.append(FileOutcome(path=remote.path, state=FileOutcomeState.SKIPPED))
            else:
                plan.append((remote, decision))
        notify(
            "planned", {"files": len(plan), "bytes": sum(r.size for r, _ in plan), "seen": len(remote_files)}
        )
        transfer_failure: RunFailure | None = None
        for remote, decision in plan:
            notify("file_started", {"path": remote.path, "size": remote.size})
            outcome = await _pull_one(
                runtime,
                source,
                connector,
                remote,
                decision,
                seen.get(remote.path),
                summary,
                notify if listening else None,
            )
            if outcome.state == FileOutcomeState.TRANSFER_FAILED:
                transfer_failure = RunFailure(outcome.error_code or "TransferFailed", outcome.error or "")
            summary.files.append(outcome)
            notify("file_finished", {"outcome": outcome, "size": remote.size})
        return transfer_failure


async def _pull_one(
    runtime: Runtime,
    source: DataSource,
    connector: Connector,
    remote: RemoteFile,
    decision: Decision,
    entry: LedgerEntry | None,
    summary: RunSummary,
    notify: ProgressCallback | None = None,
) -> FileOutcome:
    settings = runtime.settings
    progress = None if notify is None else FileProgress(notify, remote.path, remote.size)

    assert source.processor_type is not None
    facts = FileFacts(
        tenant_id=source.tenant_id,
        source_id=source.id,
        processor_type=source.processor_type,
        path=remote.path,
        name=remote.name,
        size=remote.size,
        mtime=remote.mtime,
        identity=remote.identity,
        run_id=summary.run_id,
        options=process_options(source),
    )
    if remote.size > settings.max_file_size:
        outcome = FileOutcome(
            path=remote.path,
            state=FileOutcomeState.FAILED,
            error=f"FileTooLarge: {remote.size} bytes is over the limit",
            error_code="FileTooLarge",
        )
        outcome.file_id = await record_unimported(
            runtime, facts, ledger_values(facts), FileState.FAILED, outcome
        )
        return outcome
    streamed = runtime.db.is_postgres and (entry is None or entry.state != FileState.IMPORTED)
    with tempfile.TemporaryDirectory(prefix="download-", dir=runtime.scratch) as directory:
        if streamed:
            # Nothing to compare the content with: import it while it downloads.
            outcome = await _import_as_it_arrives(
                runtime, connector, remote, directory, facts, reimport=entry is not None, progress=progress
            )
        else:
            outcome = await _download_then_import(
                runtime, source, connector, remote, entry, directory, facts, progress
            )
        if outcome.state in (FileOutcomeState.TRANSFER_FAILED, FileOutcomeState.SKIPPED):
            return outcome
    if outcome.state == FileOutcomeState.IMPORTED:
        problem = await _after_import(connector, source, remote.path)
        if problem is not None:
            summary.after_import_failures.append(problem)
    return outcome


async def _download_then_import(
    runtime: Runtime,
    source: DataSource,
    connector: Connector,
    remote: RemoteFile,
    entry: LedgerEntry | None,
    directory: str,
    facts: FileFacts,
    progress: FileProgress | None,
) -> FileOutcome:
    """The whole file first, so that its checksum can say it is unchanged; then its import."""
    try:
        local, checksum, size = await _download(
            connector, remote.path, directory, None if progress is None else progress.downloaded
        )
    except SourceError as exc:
        log.warning("download failed", source_id=source.id, path=remote.path, error=exc.message)
        return FileOutcome(
            path=remote.path, state=FileOutcomeState.TRANSFER_FAILED, error=exc.message, error_code=exc.code
        )
    if entry is not None and entry.checksum == checksum and entry.state == FileState.IMPORTED:
        # Touched but not changed: remember the new listing data, import nothing.
        async with runtime.db.session() as session:
            await ledger_store.claim_file(
                session,
                source.tenant_id,
                source.id,
                remote.path,
                size=remote.size,
                mtime=remote.mtime,
                identity=remote.identity,
            )
        return FileOutcome(path=remote.path, state=FileOutcomeState.SKIPPED, file_id=entry.file_id)
    job = FileJob.downloaded(
        facts,
        local=local,
        checksum=checksum,
        size=size,
        # Rows an earlier version of this path left behind are replaced in the same transaction.
        reimport=entry is not None,
    )
    return await import_local_file(runtime, job, None if progress is None else RowsReporter(progress.read))


def _files_failure(summary: RunSummary) -> RunFailure | None:
    failed = [
        f for f in summary.files if f.state not in (FileOutcomeState.IMPORTED, FileOutcomeState.SKIPPED)
    ]
    if not failed:
        return None
    first = failed[0]
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    return RunFailure("FilesFailed", f"{first.path}: {first.error or first.state}{more}")


async def _finish(
    runtime: Runtime,
    source: DataSource,
    summary: RunSummary,
    failure: RunFailure | None,
    started: float,
    secrets: tuple[str | None, ...],
) -> None:
    imported = summary.count(FileOutcomeState.IMPORTED)
    failed = sum(
        1 for f in summary.files if f.state not in (FileOutcomeState.IMPORTED, FileOutcomeState.SKIPPED)
    )
    if failure is not None and imported == 0:
        summary.outcome = RunOutcome.FAILED
    elif failure is not None or failed or summary.after_import_failures:
        summary.outcome = RunOutcome.PARTIAL
    else:
        summary.outcome = RunOutcome.SUCCEEDED
    shown = failure or _files_failure(summary)
    # What failed, then the files imported but not moved or deleted, then a note (a newly pinned host key).
    text = _run_message(None if shown is None else shown.message, summary.after_import_failures)
    text = "; ".join(m for m in (summary.note, text) if m) or None
    message = None if text is None else scrub(text, secrets)[:MAX_MESSAGE]
    summary.message = message
    now = utcnow()
    settings = runtime.settings
    failures = source.failure_count + 1 if summary.outcome == RunOutcome.FAILED else 0
    next_run = schedules.next_run(
        schedules.from_stored(source.schedule),
        now=now,
        poll_interval=settings.poll_interval,
        failures=failures,
        backoff_max=settings.run_backoff_max,
    )
    with anyio.CancelScope(shield=True):
        async with runtime.db.session() as session:
            await ledger_store.finish_run(
                session,
                source.tenant_id,
                summary.run_id or 0,
                outcome=summary.outcome,
                error_code=None if shown is None else shown.code,
                message=message,
                files_seen=summary.files_seen,
                files_imported=imported,
                files_skipped=summary.count(FileOutcomeState.SKIPPED),
                files_failed=failed,
                rows_ok=sum(f.rows_ok for f in summary.files),
                rows_with_errors=sum(f.rows_with_errors for f in summary.files),
            )
            await source_store.set_status(
                session,
                source.tenant_id,
                source.id,
                status=SourceStatus.IDLE,
                last_running_time=now,
                failure_count=failures,
                next_run_at=next_run,
            )
            await webhook_outbox.run_outcome(
                session, source.tenant_id, summary.run_id or 0, previous_failures=source.failure_count
            )
    metrics.observe_run(summary.outcome, time.monotonic() - started)
    log.info(
        "run finished",
        tenant_id=source.tenant_id,
        source_id=source.id,
        run_id=summary.run_id,
        outcome=summary.outcome,
        imported=imported,
        failed=failed,
        message=message,
    )


def _run_message(failure: str | None, after_import_failures: list[str]) -> str | None:
    shown = after_import_failures[:3]
    if len(after_import_failures) > len(shown):
        shown.append(f"and {len(after_import_failures) - len(shown)} more files")
    parts = [part for part in (failure, "; ".join(shown)) if part]
    return "; ".join(parts) or None


async def due_sources(runtime: Runtime, now: datetime | None = None) -> list[tuple[int, int]]:
    async with runtime.db.session() as session:
        return await ledger_store.due_sources(session, now or utcnow())


__all__ = ["FileOutcome", "RunFailure", "RunSummary", "decide", "due_sources", "run_source"]
