"""The state of sources at a glance: what the console's overview and charts show.

Plain async Python over the store, like every other core module; the console only renders it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from headwater.clock import as_utc, utcnow
from headwater.domain import RunOutcome, SourceStatus
from headwater.store import overview as store
from headwater.store.overview import Scope
from headwater.store.tables import DataSource, Run

SPARKLINE_DAYS = 30

__all__ = ["Health", "Scope", "SourceSummary", "health_of", "sources_in", "summarize"]


class Health(StrEnum):
    """The chip a person sees first."""

    IDLE = "idle"
    WORKING = "working"
    FAILING = "failing"
    PAUSED = "paused"


@dataclass(frozen=True)
class SourceSummary:
    source: DataSource
    tenant_name: str
    health: Health
    last_run: Run | None
    next_run_at: datetime | None
    files_24h: int
    rows_24h: int
    rejected_24h: int
    # Rows imported per UTC day, oldest first, ``SPARKLINE_DAYS`` values ending today.
    daily_rows: list[int] = field(default_factory=list)
    daily_rejected: list[int] = field(default_factory=list)

    @property
    def rejected_rate(self) -> float | None:
        seen = self.rows_24h + self.rejected_24h
        return None if seen == 0 else self.rejected_24h / seen


def health_of(source: DataSource, last_run: Run | None) -> Health:
    if not source.active:
        return Health.PAUSED
    if source.status == SourceStatus.WORKING:
        return Health.WORKING
    if source.failure_count > 0 or (last_run is not None and last_run.outcome == RunOutcome.FAILED):
        return Health.FAILING
    return Health.IDLE


def _days(today: date) -> list[date]:
    return [today - timedelta(days=offset) for offset in range(SPARKLINE_DAYS - 1, -1, -1)]


async def sources_in(session: AsyncSession, scope: Scope) -> list[tuple[DataSource, str]]:
    """The sources in scope with their tenant's name: what a choice of source shows, nothing more."""
    return [(source, tenant_name) for source, tenant_name, _ in await store.sources(session, scope)]


async def summarize(
    session: AsyncSession, scope: Scope, *, now: datetime | None = None, per_day: bool = True
) -> Sequence[SourceSummary]:
    """Every source in scope at a glance; without ``per_day`` the daily figures are left empty (the
    pages that show no sparkline or chart need not read them)."""
    now = now or utcnow()
    found = await store.sources(session, scope)
    day_totals = await store.totals_since(session, scope, now - timedelta(hours=24))
    days = _days(now.date()) if per_day else []
    rows_per_day = await store.daily_rows(session, scope, days[0]) if per_day else {}
    position = {day: index for index, day in enumerate(days)}
    summaries = []
    for source, tenant_name, last_run in found:
        totals = day_totals.get(source.id, store.FileTotals())
        daily_ok = [0] * len(days)
        daily_bad = [0] * len(days)
        for day, (ok, bad) in rows_per_day.get(source.id, {}).items():
            index = position.get(day)
            if index is not None:  # a day after today: a clock set back
                daily_ok[index] = ok
                daily_bad[index] = bad
        summaries.append(
            SourceSummary(
                source=source,
                tenant_name=tenant_name,
                health=health_of(source, last_run),
                last_run=last_run,
                next_run_at=as_utc(source.next_run_at) if source.next_run_at else None,
                files_24h=totals.files,
                rows_24h=totals.rows_ok,
                rejected_24h=totals.rows_with_errors,
                daily_rows=daily_ok,
                daily_rejected=daily_bad,
            )
        )
    return summaries
