"""Re-import on request: the ledger marks a file (or every file of a source) so that the next run fetches it
again and replaces its rows, even when the file has not changed.

The replacing itself is the pipeline's: a file imported again has the rows of its earlier version deleted
in the same transaction that writes the new ones, so the rows are there exactly once, before and after.
Uploaded files cannot be fetched again: the source never had them.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from headwater.errors import NotReimportable
from headwater.logging import get_logger
from headwater.runtime import Runtime
from headwater.store import imports as ledger_store
from headwater.store import sources as source_store
from headwater.store.tables import DataSource, ImportFile

log = get_logger(__name__)


class RunRequest(StrEnum):
    """What became of the run asked for after marking files."""

    QUEUED = "queued"
    ALREADY_QUEUED = "alreadyQueued"
    # This process runs no imports (imports disabled, or the CLI): the next scheduled run imports them.
    NOT_STARTED = "notStarted"


def _pull_source(source: DataSource) -> DataSource:
    if source.data_source_type is None:
        raise NotReimportable(
            f"data source {source.id} only takes uploads: there is no server to fetch its files from again"
        )
    return source


async def request_file_reimport(
    session: AsyncSession,
    tenant_id: int,
    file_id: int,
    *,
    source_id: int | None = None,
    owner_partner_id: int | None = None,
) -> ImportFile:
    """Mark one pulled file for import at the next run. With ``source_id`` the file must be of that source."""
    if source_id is not None:
        # The source first: another partner's source answers "no such source", not "no such file".
        await source_store.get(session, tenant_id, source_id, owner_partner_id=owner_partner_id)
    row = await ledger_store.get_file(session, tenant_id, file_id, source_id=source_id)
    source = _pull_source(
        await source_store.get(session, tenant_id, row.data_source_id, owner_partner_id=owner_partner_id)
    )
    if row.run_id is None:
        raise NotReimportable(
            f"file {file_id} was uploaded, not fetched from the source: upload it again to import it again"
        )
    await ledger_store.request_reimport(session, tenant_id, source.id, file_id=file_id)
    await session.refresh(row)
    log.info("reimport requested", tenant_id=tenant_id, source_id=source.id, file_id=file_id)
    return row


async def request_source_reimport(
    session: AsyncSession, tenant_id: int, source_id: int, *, owner_partner_id: int | None = None
) -> int:
    """Mark every pulled file of the source for import at the next run; how many were marked."""
    source = _pull_source(
        await source_store.get(session, tenant_id, source_id, owner_partner_id=owner_partner_id)
    )
    marked = await ledger_store.request_reimport(session, tenant_id, source.id)
    log.info("reimport requested", tenant_id=tenant_id, source_id=source_id, files=marked)
    return marked


async def run_marked(runtime: Runtime, tenant_id: int, source_id: int, trigger: str) -> RunRequest:
    """Ask for a run that imports what was just marked (call once the marking has committed)."""
    if runtime.runner is None:
        return RunRequest.NOT_STARTED
    queued = await runtime.runner.request_run(tenant_id, source_id, trigger=trigger)
    return RunRequest.QUEUED if queued else RunRequest.ALREADY_QUEUED


__all__ = ["RunRequest", "request_file_reimport", "request_source_reimport", "run_marked"]
