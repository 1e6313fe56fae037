"""Operators only: a tenant's webhook endpoints (create, rotate the secret, remove) and their deliveries.

The same core functions as the partner API and the command line; a new signing secret is shown once,
on the page that answers its creation, like every other secret of the console."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from headwater.console.views.common import page, runtime_of
from headwater.console.views.credentials import Issued, OperatorDep, _tenant, _text, form_id, tenant_action
from headwater.ingest.connectors.hosts import HostPolicy
from headwater.store.tables import Tenant
from headwater.webhooks import delivery, endpoints

router = APIRouter()


@tenant_action(router, "webhooks", "webhook")
async def create_webhook(request: Request, session: AsyncSession, tenant: Tenant, form: FormData) -> Issued:
    runtime = runtime_of(request)
    body = {
        "url": _text(form, "url").strip(),
        "events": [str(event) for event in form.getlist("events")] or ["*"],
        "description": _text(form, "description").strip() or None,
    }
    created = await endpoints.create_endpoint(
        session, tenant.id, body, runtime.box, hosts=HostPolicy.from_settings(runtime.settings)
    )
    return Issued(
        "New webhook endpoint",
        f"Signing secret of {created.endpoint.url} ({tenant.name})",
        [("Signing secret", created.secret)],
    )


@tenant_action(router, "webhooks/rotate", "webhook")
async def rotate_webhook_secret(
    request: Request, session: AsyncSession, tenant: Tenant, form: FormData
) -> Issued:
    box = runtime_of(request).box
    rotated = await endpoints.rotate_secret(session, tenant.id, form_id(form, "Webhook"), box)
    return Issued(
        "New signing secret",
        f"Signing secret of {rotated.endpoint.url} ({tenant.name}); the old one no longer signs",
        [("Signing secret", rotated.secret)],
    )


@tenant_action(router, "webhooks/delete", "webhook")
async def delete_webhook(request: Request, session: AsyncSession, tenant: Tenant, form: FormData) -> str:
    await endpoints.delete_endpoint(session, tenant.id, form_id(form, "Webhook"))
    return "webhook-deleted"


@router.get("/tenants/{tenant_id}/webhooks/{endpoint_id}")
async def webhook_deliveries(
    request: Request, viewer: OperatorDep, tenant_id: int, endpoint_id: int
) -> HTMLResponse:
    async with runtime_of(request).db.session() as session:
        tenant = await _tenant(session, tenant_id)
        endpoint = await endpoints.get_endpoint(session, tenant.id, endpoint_id)
        deliveries = await delivery.list_deliveries(session, tenant.id, endpoint.id, limit=100)
    return page(
        request,
        viewer,
        "webhook.html",
        title=f"Webhook {endpoint.url}",
        nav="tenants",
        tenant=tenant,
        endpoint=endpoints.describe(endpoint),
        deliveries=deliveries,
    )
