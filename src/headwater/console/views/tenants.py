"""Operators only: every tenant with its sources, credentials and activity."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from headwater import overview
from headwater.console.views.common import ViewerDep, page, runtime_of
from headwater.errors import NotFound
from headwater.store import credentials as credential_store

router = APIRouter()


@router.get("/tenants")
async def tenants_page(request: Request, viewer: ViewerDep) -> HTMLResponse:
    if not viewer.is_operator:
        raise NotFound("page")
    runtime = runtime_of(request)
    async with runtime.db.session() as session:
        tenants = await credential_store.list_tenants(session)
        summaries = await overview.summarize(session, viewer.scope)
    by_tenant: dict[int, list[overview.SourceSummary]] = {}
    for summary in summaries:
        by_tenant.setdefault(summary.source.tenant_id, []).append(summary)
    rows = [
        {
            "tenant": tenant,
            "sources": len(by_tenant.get(tenant.id, [])),
            "failing": sum(1 for s in by_tenant.get(tenant.id, []) if s.health == overview.Health.FAILING),
            "rows_24h": sum(s.rows_24h for s in by_tenant.get(tenant.id, [])),
            "rejected_24h": sum(s.rejected_24h for s in by_tenant.get(tenant.id, [])),
        }
        for tenant in tenants
    ]
    return page(request, viewer, "tenants.html", title="Tenants", rows=rows)
