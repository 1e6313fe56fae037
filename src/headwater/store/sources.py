"""Data sources, always scoped by tenant."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.clock import utcnow
from headwater.domain import FileState, RunOutcome
from headwater.errors import Conflict, NotFound
from headwater.store.queries import one_or_not_found
from headwater.store.records import delete_source_records
from headwater.store.tables import DataSource, ImportFile, Run

NAME_TAKEN = "Has already been taken."


async def add(session: AsyncSession, tenant_id: int, **values: Any) -> DataSource:
    now = utcnow()
    source = DataSource(tenant_id=tenant_id, created_at=now, updated_at=now, **values)
    session.add(source)
    try:
        await session.flush()
    except IntegrityError as exc:
        # Two requests raced for one name: the unique constraint decides, the caller sees a conflict.
        raise Conflict("name", NAME_TAKEN) from exc
    return source


async def get(
    session: AsyncSession, tenant_id: int, source_id: int, *, owner_partner_id: int | None = None
) -> DataSource:
    query = select(DataSource).where(DataSource.tenant_id == tenant_id, DataSource.id == source_id)
    if owner_partner_id is not None:
        query = query.where(DataSource.owner_partner_id == owner_partner_id)
    return await one_or_not_found(session, query, "DataSource", source_id)


async def get_for_operator(session: AsyncSession, source_id: int) -> DataSource:
    """Any tenant's source, by id: for operator commands on the local machine, never for an API."""
    source = await session.get(DataSource, source_id)
    if source is None:
        raise NotFound("DataSource", source_id)
    return source


async def get_by_uuid(session: AsyncSession, tenant_id: int, uuid: str) -> DataSource:
    return await one_or_not_found(
        session,
        select(DataSource).where(DataSource.tenant_id == tenant_id, DataSource.uuid == uuid),
        "DataSource",
        uuid,
    )


async def list_(
    session: AsyncSession,
    tenant_id: int,
    *,
    owner_partner_id: int | None = None,
    name: str | None = None,
    system: str | None = None,
) -> Sequence[DataSource]:
    query = select(DataSource).where(DataSource.tenant_id == tenant_id)
    if owner_partner_id is not None:
        query = query.where(DataSource.owner_partner_id == owner_partner_id)
    if name is not None:
        query = query.where(DataSource.name == name)
    if system is not None:
        query = query.where(DataSource.system == system)
    return (await session.scalars(query.order_by(DataSource.id))).all()


async def upload_destination(
    session: AsyncSession, tenant_id: int, owner_partner_id: int | None, processor_type: int
) -> DataSource | None:
    """The upload-only source that receives this owner's uploads of this type (the tenant's: owner None)."""
    owner = (
        DataSource.owner_partner_id.is_(None)
        if owner_partner_id is None
        else DataSource.owner_partner_id == owner_partner_id
    )
    query = select(DataSource).where(
        DataSource.tenant_id == tenant_id,
        DataSource.upload_only.is_(True),
        owner,
        DataSource.processor_type == processor_type,
    )
    return (await session.scalars(query.order_by(DataSource.id).limit(1))).first()


async def name_taken(
    session: AsyncSession, tenant_id: int, name: str, *, except_id: int | None = None
) -> bool:
    query = select(func.count()).where(DataSource.tenant_id == tenant_id, DataSource.name == name)
    if except_id is not None:
        query = query.where(DataSource.id != except_id)
    return bool(await session.scalar(query))


async def refuse_taken_name(
    session: AsyncSession, tenant_id: int, name: str, *, except_id: int | None = None
) -> None:
    """``Conflict`` when another source of the tenant already has this name."""
    if await name_taken(session, tenant_id, name, except_id=except_id):
        raise Conflict("name", NAME_TAKEN)


async def delete(session: AsyncSession, source: DataSource) -> None:
    """The source, its runs, files and errors (by cascade) and its records (which carry no keys)."""
    await delete_source_records(session, source.tenant_id, source.id)
    await session.delete(source)
    await session.flush()


async def set_status(session: AsyncSession, tenant_id: int, source_id: int, **values: Any) -> None:
    await session.execute(
        update(DataSource)
        .where(DataSource.tenant_id == tenant_id, DataSource.id == source_id)
        .values(updated_at=utcnow(), **values)
    )


async def processing_status(
    session: AsyncSession, tenant_id: int, source_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """Files per source counted as processed, failed and pending (ChartMogul's processing_status); a run
    that failed as a whole (its server refused it, say) counts as failed too."""
    counts: dict[int, dict[str, int]] = {
        sid: {"processed": 0, "failed": 0, "pending": 0} for sid in source_ids
    }
    if not source_ids:
        return counts
    rows = await session.execute(
        select(ImportFile.data_source_id, ImportFile.state, func.count())
        .where(ImportFile.tenant_id == tenant_id, ImportFile.data_source_id.in_(source_ids))
        .group_by(ImportFile.data_source_id, ImportFile.state)
    )
    bucket: dict[str, str] = {
        FileState.IMPORTED: "processed",
        FileState.FAILED: "failed",
        FileState.ROLLED_BACK: "pending",
    }
    for source_id, state, count in rows:
        counts[source_id][bucket.get(state, "pending")] += count
    runs = await session.execute(
        select(Run.data_source_id, func.count())
        .where(
            Run.tenant_id == tenant_id, Run.data_source_id.in_(source_ids), Run.outcome == RunOutcome.FAILED
        )
        .group_by(Run.data_source_id)
    )
    for source_id, count in runs:
        counts[source_id]["failed"] += count
    return counts
