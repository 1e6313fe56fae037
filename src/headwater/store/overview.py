"""What the console's overview shows, in a few grouped queries whatever the number of sources.

Every function takes the tenant (or, for an operator, ``None``: every tenant) and, for a partner, the
owner, so that the scoping stays here like in every other repository.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import Select, String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from headwater.domain import FileState
from headwater.store.tables import DailyImport, DataSource, ImportFile, Run, Tenant

_Query = TypeVar("_Query", bound=Select)  # type: ignore[type-arg]  # any columns


@dataclass(frozen=True)
class Scope:
    """Whose sources: one tenant's (optionally one partner's), or with ``tenant_id`` None every tenant's."""

    tenant_id: int | None
    owner_partner_id: int | None = None

    def sources(self, query: _Query) -> _Query:
        if self.tenant_id is not None:
            query = query.where(DataSource.tenant_id == self.tenant_id)
        if self.owner_partner_id is not None:
            query = query.where(DataSource.owner_partner_id == self.owner_partner_id)
        return query

    def source_ids(self) -> Select[tuple[int]]:
        """The ids of the sources in scope, as a subquery: the same statement text whatever their
        number, where a list of ids would be written out (and prepared again) on every page."""
        return self.sources(select(DataSource.id))


async def sources(session: AsyncSession, scope: Scope) -> Sequence[tuple[DataSource, str, Run | None]]:
    """The sources in scope with their tenant's name and their last run, by tenant, then by id."""
    later = aliased(Run)
    latest = (
        select(func.max(later.id))
        .where(later.data_source_id == DataSource.id)
        .correlate(DataSource)
        .scalar_subquery()
    )
    query = (
        scope.sources(select(DataSource, Tenant.name, Run))
        .join(Tenant, Tenant.id == DataSource.tenant_id)
        .outerjoin(Run, Run.id == latest)
        .order_by(DataSource.tenant_id, DataSource.id)
    )
    return [(source, tenant, run) for source, tenant, run in await session.execute(query)]


@dataclass(frozen=True)
class FileTotals:
    files: int = 0
    rows_ok: int = 0
    rows_with_errors: int = 0


async def totals_since(session: AsyncSession, scope: Scope, since: datetime) -> dict[int, FileTotals]:
    """Files imported and their rows, per source in scope, finished at or after ``since``."""
    rows = await session.execute(
        select(
            ImportFile.data_source_id,
            func.count(),
            func.coalesce(func.sum(ImportFile.rows_ok), 0),
            func.coalesce(func.sum(ImportFile.rows_with_errors), 0),
        )
        .where(
            ImportFile.data_source_id.in_(scope.source_ids()),
            ImportFile.state == FileState.IMPORTED,
            ImportFile.finished_at >= since,
        )
        .group_by(ImportFile.data_source_id)
    )
    return {source_id: FileTotals(int(files), int(ok), int(bad)) for source_id, files, ok, bad in rows}


async def daily_rows(
    session: AsyncSession, scope: Scope, since: date
) -> dict[int, dict[date, tuple[int, int]]]:
    """Rows imported and rejected per source in scope and UTC day, for files finished on ``since`` or later.

    Read from ``daily_imports``, which triggers on the ledger keep (see ``DailyImport``): one row per
    source and day, however many files the day had, and no grouping of the ledger at read time.
    """
    # One text per source ("day ok bad,day ok bad,..."), not a row per source and day: 30 days of
    # 100 sources are 3,000 rows, and making result rows of them cost more than the query.
    day = func.aggregate_strings(
        cast(DailyImport.day, String)
        + " "
        + cast(DailyImport.rows_ok, String)
        + " "
        + cast(DailyImport.rows_with_errors, String),
        ",",
    )
    rows = await session.execute(
        select(DailyImport.data_source_id, day)
        .where(DailyImport.data_source_id.in_(scope.source_ids()), DailyImport.day >= since)
        .group_by(DailyImport.data_source_id)
    )
    found: dict[int, dict[date, tuple[int, int]]] = {}
    for source_id, days in rows:
        per_day = found[source_id] = {}
        for entry in days.split(","):
            on, ok, bad = entry.split(" ")
            per_day[date.fromisoformat(on)] = (int(ok), int(bad))
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
