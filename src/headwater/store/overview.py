"""What the console's overview shows, in a few grouped queries whatever the number of sources.

Every function takes the tenant (or, for an operator, ``None``: every tenant) and, for a partner, the
owner, so that the scoping stays here like in every other repository.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.store.tables import DataSource, ImportFile, Run, Tenant


@dataclass(frozen=True)
class Scope:
    """Whose sources: one tenant's (optionally one partner's), or with ``tenant_id`` None every tenant's."""

    tenant_id: int | None
    owner_partner_id: int | None = None

    def sources(self, query: Select[tuple[DataSource]]) -> Select[tuple[DataSource]]:
        if self.tenant_id is not None:
            query = query.where(DataSource.tenant_id == self.tenant_id)
        if self.owner_partner_id is not None:
            query = query.where(DataSource.owner_partner_id == self.owner_partner_id)
        return query


async def sources(session: AsyncSession, scope: Scope) -> Sequence[tuple[DataSource, str]]:
    """The sources in scope with their tenant's name, newest tenant last, then by id."""
    query = scope.sources(select(DataSource)).join(Tenant, Tenant.id == DataSource.tenant_id)
    rows = await session.execute(query.add_columns(Tenant.name).order_by(DataSource.tenant_id, DataSource.id))
    return [(source, tenant) for source, tenant in rows]


async def last_runs(session: AsyncSession, source_ids: Sequence[int]) -> dict[int, Run]:
    if not source_ids:
        return {}
    latest = (
        select(func.max(Run.id))
        .where(Run.data_source_id.in_(source_ids))
        .group_by(Run.data_source_id)
        .scalar_subquery()
    )
    runs = await session.scalars(select(Run).where(Run.id.in_(latest)))
    return {run.data_source_id: run for run in runs}


@dataclass(frozen=True)
class FileTotals:
    files: int = 0
    rows_ok: int = 0
    rows_with_errors: int = 0


async def totals_since(
    session: AsyncSession, source_ids: Sequence[int], since: datetime
) -> dict[int, FileTotals]:
    """Files imported and their rows, per source, finished at or after ``since``."""
    if not source_ids:
        return {}
    rows = await session.execute(
        select(
            ImportFile.data_source_id,
            func.count(),
            func.coalesce(func.sum(ImportFile.rows_ok), 0),
            func.coalesce(func.sum(ImportFile.rows_with_errors), 0),
        )
        .where(
            ImportFile.data_source_id.in_(source_ids),
            ImportFile.state == "imported",
            ImportFile.finished_at >= since,
        )
        .group_by(ImportFile.data_source_id)
    )
    return {source_id: FileTotals(int(files), int(ok), int(bad)) for source_id, files, ok, bad in rows}


async def daily_rows(
    session: AsyncSession, source_ids: Sequence[int], since: datetime
) -> dict[int, dict[date, tuple[int, int]]]:
    """Rows imported and rejected per source and UTC day, for files finished at or after ``since``."""
    if not source_ids:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        # The UTC day, whatever the session's time zone.
        day = func.date(func.timezone("UTC", ImportFile.finished_at))
    else:
        day = func.date(ImportFile.finished_at)  # SQLite stores UTC times without an offset
    rows = await session.execute(
        select(
            ImportFile.data_source_id,
            day,
            func.coalesce(func.sum(ImportFile.rows_ok), 0),
            func.coalesce(func.sum(ImportFile.rows_with_errors), 0),
        )
        .where(
            ImportFile.data_source_id.in_(source_ids),
            ImportFile.state == "imported",
            ImportFile.finished_at >= since,
        )
        .group_by(ImportFile.data_source_id, day)
    )
    found: dict[int, dict[date, tuple[int, int]]] = {}
    for source_id, on, ok, bad in rows:
        on_day = on if isinstance(on, date) else date.fromisoformat(str(on))
        found.setdefault(source_id, {})[on_day] = (int(ok), int(bad))
    return found


async def run_progress(session: AsyncSession, tenant_id: int, run_id: int) -> FileTotals:
    """Files a run has finished so far, and their rows."""
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(ImportFile.rows_ok), 0),
                func.coalesce(func.sum(ImportFile.rows_with_errors), 0),
            ).where(ImportFile.tenant_id == tenant_id, ImportFile.run_id == run_id)
        )
    ).one()
    return FileTotals(int(row[0]), int(row[1]), int(row[2]))
