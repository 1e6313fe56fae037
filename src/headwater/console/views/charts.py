"""Rows imported and rejected per day, per tenant and per source, drawn as SVG on the server."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from headwater import overview
from headwater.clock import utcnow
from headwater.console.views.common import ViewerDep, page, runtime_of

router = APIRouter()


@router.get("/charts")
async def charts_page(request: Request, viewer: ViewerDep) -> HTMLResponse:
    runtime = runtime_of(request)
    async with runtime.db.session() as session:
        summaries = await overview.summarize(session, viewer.scope)
    today = utcnow().date()
    days = [today - timedelta(days=offset) for offset in range(overview.SPARKLINE_DAYS - 1, -1, -1)]
    tenants: dict[str, tuple[list[int], list[int]]] = {}
    for summary in summaries:
        imported, rejected = tenants.setdefault(summary.tenant_name, ([0] * len(days), [0] * len(days)))
        for index, (ok, bad) in enumerate(zip(summary.daily_rows, summary.daily_rejected, strict=True)):
            imported[index] += ok
            rejected[index] += bad
    return page(
        request,
        viewer,
        "charts.html",
        title="Charts",
        nav="charts",
        days=days,
        tenants=tenants,
        summaries=[s for s in summaries if any(s.daily_rows) or any(s.daily_rejected)],
    )
