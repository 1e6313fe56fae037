"""Operators only: every tenant with its sources and activity, and a new tenant."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from headwater import overview
from headwater.access import credentials
from headwater.console.session import Viewer
from headwater.console.views.common import back_to, checked_form, page, runtime_of
from headwater.console.views.credentials import OperatorDep, sentence
from headwater.errors import Conflict, ValidationFailed
from headwater.store import credentials as credential_store

router = APIRouter()


async def _tenants_page(
    request: Request, viewer: Viewer, *, error: str = "", name: str = "", status_code: int = 200
) -> HTMLResponse:
    runtime = runtime_of(request)
    async with runtime.db.session() as session:
        tenants = await credential_store.list_tenants(session)
        summaries = await overview.summarize(session, viewer.scope, per_day=False)
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
    return page(
        request, viewer, "tenants.html", status_code, title="Tenants", rows=rows, error=error, name=name
    )


@router.get("/tenants")
async def tenants_page(request: Request, viewer: OperatorDep) -> HTMLResponse:
    return await _tenants_page(request, viewer)


@router.post("/tenants")
async def create_tenant(request: Request, viewer: OperatorDep) -> Response:
    form = await checked_form(request, viewer)
    name = str(form.get("name") or "")[:1000]
    try:
        async with runtime_of(request).db.session() as session:
            tenant = await credentials.create_tenant(session, name)
    except ValidationFailed as exc:
        message = sentence(exc.problems[0].message)
        return await _tenants_page(request, viewer, error=message, name=name, status_code=400)
    except Conflict as exc:
        return await _tenants_page(request, viewer, error=sentence(exc.message), name=name, status_code=400)
    return back_to(f"/tenants/{tenant.id}", "created")
