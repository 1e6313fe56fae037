"""Uploads: a file sent over an API goes through the same pipeline as a pulled one."""

from __future__ import annotations

import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from headwater import sources
from headwater.clock import utcnow
from headwater.domain import FileOutcomeState, RunOutcome
from headwater.errors import FieldProblem, HeadwaterError, ValidationFailed
from headwater.ingest.pipeline import FileJob, FileOutcome, HashingSink, import_local_file, process_options
from headwater.ingest.processor_types import chosen_processor_type
from headwater.ingest.processor_types import processor_type as checked_type
from headwater.runtime import Runtime
from headwater.storable import storable
from headwater.store import imports as ledger_store
from headwater.store import sources as source_store
from headwater.store.tables import ImportFile
from headwater.webhooks import outbox as webhook_outbox

# The ledger's column for the name (its path, ``uploads/<id>/<name>``, has room for one this long).
MAX_NAME_LENGTH: int = ImportFile.__table__.c.name.type.length  # type: ignore[attr-defined]


def upload_name(name: str) -> str:
    """The file name an upload is recorded under; ``ValidationFailed`` for one the ledger cannot hold."""
    clean = Path(name.replace("\\", "/")).name.strip() or "upload"
    if not storable(clean, MAX_NAME_LENGTH):
        raise ValidationFailed(
            [
                FieldProblem(
                    "name",
                    "InvalidName",
                    f"the file name must be at most {MAX_NAME_LENGTH} characters, without NUL",
                )
            ]
        )
    return clean


async def _destination_name(
    session: AsyncSession, tenant_id: int, owner_partner_id: int | None, processor_type: int
) -> str:
    """``uploads/<owner>/<type>``, or that with a suffix when a source of the tenant already has the name.

    The name is only a label: a source someone named so neither receives these uploads nor blocks them.
    """
    name = f"uploads/{owner_partner_id if owner_partner_id is not None else 'tenant'}/{processor_type}"
    if not await source_store.name_taken(session, tenant_id, name):
        return name
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def _upload_source(
    runtime: Runtime,
    tenant_id: int,
    source_id: int | None,
    processor_type: int | None,
    owner_partner_id: int | None,
) -> tuple[int, int]:
    """The source an upload lands in, and the processor type to read it with."""
    async with runtime.db.session() as session:
        if source_id is not None:
            source = await source_store.get(session, tenant_id, source_id, owner_partner_id=owner_partner_id)
            return source.id, chosen_processor_type(source, processor_type)
        if processor_type is None:
            raise ValidationFailed([FieldProblem("type", "ProcessorTypeRequired", "type is required")])
        chosen = checked_type(processor_type)
        found = await source_store.upload_destination(session, tenant_id, owner_partner_id, chosen)
        if found is not None:
            return found.id, chosen
        name = await _destination_name(session, tenant_id, owner_partner_id, chosen)
        created = await sources.create_custom_source(session, tenant_id, name)
        created.owner_partner_id = owner_partner_id
        created.processor_type = chosen
        created.upload_only = True
        return created.id, chosen


def _without_code(error: str) -> str:
    """A file's error reads "Code: message"; the run keeps the code apart."""
    code, colon, message = error.partition(": ")
    return message if colon and code.isidentifier() else error


async def _record_run(
    runtime: Runtime, tenant_id: int, source_id: int, outcome: FileOutcome, started: datetime
) -> None:
    """An upload is a run of its own (trigger ``upload``), listed with the source's other runs."""
    imported = outcome.state == FileOutcomeState.IMPORTED
    async with runtime.db.session() as session:
        run = await ledger_store.record_finished_run(
            session,
            tenant_id,
            source_id,
            trigger="upload",
            started_at=started,
            outcome=RunOutcome.SUCCEEDED if imported else RunOutcome.FAILED,
            error_code=None if imported else outcome.error_code or "FileFailed",
            message=None if imported else _without_code(outcome.error or outcome.state)[:2000],
            files_seen=1,
            files_imported=int(imported),
            files_failed=int(not imported),
            rows_ok=outcome.rows_ok,
            rows_with_errors=outcome.rows_with_errors,
        )
        await webhook_outbox.run_outcome(session, tenant_id, run.id)


async def import_upload(
    runtime: Runtime,
    tenant_id: int,
    *,
    source_id: int | None,
    name: str,
    processor_type: int | None,
    data: BinaryIO,
    owner_partner_id: int | None = None,
) -> ImportFile:
    """Import an uploaded file through the same pipeline as pulled files; returns its ledger row."""
    clean_name = upload_name(name)
    target_id, chosen_type = await _upload_source(
        runtime, tenant_id, source_id, processor_type, owner_partner_id
    )
    async with runtime.db.session() as session:
        source = await source_store.get(session, tenant_id, target_id)
        options = process_options(source)
    started = utcnow()
    with tempfile.TemporaryDirectory(prefix="upload-", dir=runtime.scratch) as directory:
        local = Path(directory) / "upload"

        def copy() -> tuple[str, int]:
            with local.open("wb") as handle:
                sink = HashingSink(handle)
                while chunk := data.read(1024 * 1024):
                    sink.write(chunk)
            return sink.hash.hexdigest(), sink.size

        checksum, size = await anyio.to_thread.run_sync(copy)
        job = FileJob(
            tenant_id=tenant_id,
            source_id=target_id,
            processor_type=chosen_type,
            path=f"uploads/{uuid.uuid4().hex}/{clean_name}",
            name=clean_name,
            local=local,
            checksum=checksum,
            size=size,
            mtime=utcnow(),
            identity=None,
            run_id=None,
            reimport=False,
            options=options,
        )
        outcome = await import_local_file(runtime, job)
    await _record_run(runtime, tenant_id, target_id, outcome, started)
    if outcome.file_id is None:
        raise HeadwaterError(outcome.error or "the upload could not be recorded")
    async with runtime.db.session() as session:
        return await ledger_store.get_file(session, tenant_id, outcome.file_id)
