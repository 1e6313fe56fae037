"""Uploads: a file sent over an API goes through the same pipeline as a pulled one."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import BinaryIO

import anyio

from headwater import sources
from headwater.clock import utcnow
from headwater.domain import ProcessorType
from headwater.errors import FieldProblem, HeadwaterError, ValidationFailed
from headwater.pipeline import FileJob, HashingSink, import_local_file, process_options
from headwater.runtime import Runtime
from headwater.storable import storable
from headwater.store import imports as ledger_store
from headwater.store import sources as source_store
from headwater.store.tables import ImportFile

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
            chosen = processor_type or source.processor_type
        else:
            if processor_type is None:
                raise ValidationFailed([FieldProblem("type", "ProcessorTypeRequired", "type is required")])
            name = (
                f"uploads/{owner_partner_id if owner_partner_id is not None else 'tenant'}/{processor_type}"
            )
            found = await source_store.list_(session, tenant_id, name=name)
            if found:
                source = found[0]
            else:
                source = await sources.create_custom_source(session, tenant_id, name)
                source.owner_partner_id = owner_partner_id
                source.processor_type = processor_type
            chosen = processor_type
        if chosen is None:
            raise ValidationFailed([FieldProblem("type", "ProcessorTypeRequired", "type is required")])
        try:
            ProcessorType(int(chosen))
        except ValueError as exc:
            raise ValidationFailed(
                [FieldProblem("type", "InvalidProcessorType", "unknown processor type")]
            ) from exc
        return source.id, int(chosen)


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
    with tempfile.TemporaryDirectory(prefix="headwater-") as directory:
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
    if outcome.file_id is None:
        raise HeadwaterError(outcome.error or "the upload could not be recorded")
    async with runtime.db.session() as session:
        return await ledger_store.get_file(session, tenant_id, outcome.file_id)
