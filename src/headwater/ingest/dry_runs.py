"""A dry run: read and check an uploaded file as an import would, and store nothing at all.

No ledger row, no run, no record, no source is created; the database is only read (the source named,
or the upload-only source an upload of that type would land in, for its options). The answer says how
many rows the file has, how many would be imported and how many are rejected, with the first
``MAX_SHOWN`` row errors and their rows' text. Checks only the database can make (a transaction
already imported, ``DuplicateTransaction``) are not made: the rows they would reject count as good.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import anyio

from headwater.domain import DryRunState, RowError
from headwater.errors import FieldProblem, FileUnreadable, ValidationFailed
from headwater.ingest.pipeline import process_options
from headwater.ingest.processor_types import chosen_processor_type
from headwater.ingest.processor_types import processor_type as checked_type
from headwater.ingest.processors import processor_for
from headwater.ingest.processors.base import Batch, ProcessOptions
from headwater.ingest.uploads import upload_name
from headwater.runtime import Runtime
from headwater.store import sources as source_store

MAX_SHOWN = 100


@dataclass
class DryRunResult:
    name: str
    processor_type: int
    state: DryRunState = DryRunState.VALID  # failed: see ``error_code``
    file_type: str | None = None
    rows: int = 0
    rows_ok: int = 0
    rows_with_errors: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first MAX_SHOWN, in line order
    error: str | None = None
    error_code: str | None = None


async def _options(
    runtime: Runtime,
    tenant_id: int,
    source_id: int | None,
    processor_type: int | None,
    owner_partner_id: int | None,
) -> tuple[int, ProcessOptions]:
    async with runtime.db.session() as session:
        if source_id is not None:
            source = await source_store.get(session, tenant_id, source_id, owner_partner_id=owner_partner_id)
            return chosen_processor_type(source, processor_type), process_options(source)
        if processor_type is None:
            raise ValidationFailed([FieldProblem("type", "ProcessorTypeRequired", "type is required")])
        chosen = checked_type(processor_type)
        found = await source_store.upload_destination(session, tenant_id, owner_partner_id, chosen)
        return chosen, ProcessOptions() if found is None else process_options(found)


def _check(path: Path, processor_type: int, options: ProcessOptions, result: DryRunResult) -> None:
    """Blocking: read the whole file, counting as the pipeline counts."""
    info, batches = processor_for(processor_type).read(path, options)
    result.file_type = info.file_type
    batch: Batch
    for batch in _closing(batches):
        rejected = len({error.line for error in batch.errors if error.line is not None})
        result.rows += batch.records.num_rows + rejected
        result.rows_ok += batch.records.num_rows
        result.rows_with_errors += rejected
        room = MAX_SHOWN - len(result.errors)
        if room > 0:
            result.errors.extend(batch.errors[:room])


def _closing(batches: Iterator[Batch]) -> Iterator[Batch]:
    try:
        yield from batches
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


async def dry_run(
    runtime: Runtime,
    tenant_id: int,
    *,
    source_id: int | None,
    name: str,
    processor_type: int | None,
    data: BinaryIO,
    owner_partner_id: int | None = None,
) -> DryRunResult:
    """Check an upload as ``uploads.import_upload`` would import it, storing nothing."""
    clean_name = upload_name(name)
    chosen, options = await _options(runtime, tenant_id, source_id, processor_type, owner_partner_id)
    result = DryRunResult(name=clean_name, processor_type=chosen)
    with tempfile.TemporaryDirectory(prefix="dryrun-", dir=runtime.scratch) as directory:
        local = Path(directory) / "upload"

        def copy() -> None:
            with local.open("wb") as handle:
                while chunk := data.read(1024 * 1024):
                    handle.write(chunk)

        await anyio.to_thread.run_sync(copy)
        try:
            await anyio.to_thread.run_sync(_check, local, chosen, options, result)
        except FileUnreadable as exc:
            result.state = DryRunState.FAILED
            result.error = f"{exc.code}: {exc.message}"
            result.error_code = exc.code
            result.rows_ok = 0
    return result
