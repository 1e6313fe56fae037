"""Operators only: a tenant's webhook endpoints (create, rotate the secret, remove) and their deliveries.

The same core functions as the partner API and the command line; a new signing secret is shown once,
on the page that answers its creation, like every other secret of the console."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from headwater.connectors.hosts import HostPolicy
from headwater.console.views.common import page, runtime_of
from headwater.console.views.credentials import Issued, OperatorDep, _act, _tenant, _text
from headwater.errors import NotFound
from headwater.store.tables import Tenant
from headwater.webhooks import delivery, endpoints

router = APIRouter()


def _endpoint_id(form: FormData) -> int:
    text = _text(form, "id", 20)
    if not text.isdigit():
        raise NotFound("Webhook")
    return int(text)


@router.post("/tenants/{tenant_id}/webhooks")
async def create_webhook(request: Request, viewer: OperatorDep, tenant_id: int) -> Response:
    async def action(session: AsyncSession, tenant: Tenant, form: FormData) -> Issued:
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

    return await _act(request, viewer, tenant_id, "webhook", action)


@router.post("/tenants/{tenant_id}/webhooks/rotate")
async def rotate_webhook_secret(request: Request, viewer: OperatorDep, tenant_id: int) -> Response:
    async def action(session: AsyncSession, tenant: Tenant, form: FormData) -> Issued:
        rotated = await endpoints.rotate_secret(
            session, tenant.id, _endpoint_id(form), runtime_of(request).box
        )
        return Issued(
            "New signing secret",
            f"Signing secret of {rotated.endpoint.url} ({tenant.name}); the old one no longer signs",
            [("Signing secret", rotated.secret)],
        )

    return await _act(request, viewer, tenant_id, "webhook", action)


@router.post("/tenants/{tenant_id}/webhooks/delete")
async def delete_webhook(request: Request, viewer: OperatorDep, tenant_id: int) -> Response:
    async def action(session: AsyncSession, tenant: Tenant, form: FormData) -> str:
        await endpoints.delete_endpoint(session, tenant.id, _endpoint_id(form))
        return "webhook-deleted"

    return await _act(request, viewer, tenant_id, "webhook", action)


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
