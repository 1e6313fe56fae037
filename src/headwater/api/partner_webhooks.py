"""The partner API's webhooks: ``/api/v4/partner/webhooks``, the tenant's endpoints and their delivery log.

Same authentication as the rest of ``/api/v4``; validation problems answer
``400 {"errors": {"webhook": "<Code>"}}``, an unknown endpoint ``404 {"errors": {"webhook": "NotFound"}}``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from headwater.api import partner
from headwater.api.deps import RuntimeDep
from headwater.api.partner import (
    MAX_ID,
    PREFIX,
    CurrentPartnerDep,
    JsonObjectDep,
    PartnerRoute,
    error_response,
)
from headwater.clock import epoch_millis
from headwater.errors import NotFound, ValidationFailed
from headwater.ingest.connectors.hosts import HostPolicy
from headwater.webhooks import delivery, endpoints


class WebhookRoute(PartnerRoute):
    """The partner dialect's answers, with validation problems under the ``webhook`` key."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = APIRoute.get_route_handler(self)

        async def answered(request: Request) -> Response:
            try:
                return await handler(request)
            except ValidationFailed as exc:
                return error_response(400, [("webhook", p.code) for p in exc.problems])
            except NotFound as exc:
                key = "webhook" if exc.kind == "Webhook" else "webhookDelivery"
                return error_response(404, [(key, "NotFound")])
            except Exception as exc:
                return partner.answer(exc)

        return answered


router = APIRouter(prefix=PREFIX, route_class=WebhookRoute, tags=["partner webhooks"])
WebhookIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The webhook endpoint's id.")]
DeliveryIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The delivery's id.")]


def _times(shown: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {**shown, **{key: epoch_millis(shown[key]) for key in keys}}


def webhook_json(described: dict[str, Any], secret: str | None = None) -> dict[str, Any]:
    shown = _times(described, "createdAt", "updatedAt")
    if secret is not None:
        shown["secret"] = secret
    return shown


def _delivery_json(shown: dict[str, Any]) -> dict[str, Any]:
    return {
        **_times(shown, "nextAttemptAt", "deliveredAt", "createdAt"),
        "log": [_times(entry, "attemptedAt") for entry in shown["log"]],
    }


_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "url": {"type": "string", "description": "http(s), on a public address"},
                        "events": {"type": "array", "items": {"type": "string"}, "description": 'or ["*"]'},
                        "description": {"type": ["string", "null"]},
                        "active": {"type": "boolean"},
                    },
                }
            }
        },
    }
}


@router.post(
    "/partner/webhooks",
    status_code=201,
    summary="Register a webhook endpoint (its secret is shown once)",
    openapi_extra=_BODY,
)
async def create_webhook(
    partner_: CurrentPartnerDep, body: JsonObjectDep, runtime: RuntimeDep
) -> JSONResponse:
    async with runtime.db.session() as session:
        created = await endpoints.create_endpoint(
            session,
            partner_.tenant_id,
            body,
            runtime.box,
            hosts=HostPolicy.from_settings(runtime.settings),
        )
        shown = webhook_json(endpoints.describe(created.endpoint), created.secret)
    return JSONResponse({"webhook": shown}, status_code=201)


@router.get("/partner/webhooks", summary="The tenant's webhook endpoints")
async def list_webhooks(partner_: CurrentPartnerDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.session() as session:
        found = await endpoints.list_endpoints(session, partner_.tenant_id)
        return {"webhooks": [webhook_json(endpoints.describe(e)) for e in found]}


@router.get("/partner/webhooks/{webhook_id}", summary="One webhook endpoint")
async def get_webhook(
    partner_: CurrentPartnerDep, webhook_id: WebhookIdPath, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.session() as session:
        found = await endpoints.get_endpoint(session, partner_.tenant_id, webhook_id)
        return {"webhook": webhook_json(endpoints.describe(found))}


@router.put(
    "/partner/webhooks/{webhook_id}",
    summary="Change a webhook endpoint (the fields given)",
    openapi_extra=_BODY,
)
async def update_webhook(
    partner_: CurrentPartnerDep, webhook_id: WebhookIdPath, body: JsonObjectDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.session() as session:
        changed = await endpoints.update_endpoint(
            session, partner_.tenant_id, webhook_id, body, hosts=HostPolicy.from_settings(runtime.settings)
        )
        return {"webhook": webhook_json(endpoints.describe(changed))}


@router.delete("/partner/webhooks/{webhook_id}", status_code=204, summary="Remove a webhook endpoint")
async def delete_webhook(
    partner_: CurrentPartnerDep, webhook_id: WebhookIdPath, runtime: RuntimeDep
) -> Response:
    async with runtime.db.session() as session:
        await endpoints.delete_endpoint(session, partner_.tenant_id, webhook_id)
    return Response(status_code=204)


@router.post(
    "/partner/webhooks/{webhook_id}/rotate-secret",
    summary="Replace the endpoint's signing secret (the new one is shown once)",
)
async def rotate_webhook_secret(
    partner_: CurrentPartnerDep, webhook_id: WebhookIdPath, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.session() as session:
        rotated = await endpoints.rotate_secret(session, partner_.tenant_id, webhook_id, runtime.box)
        return {"webhook": webhook_json(endpoints.describe(rotated.endpoint), rotated.secret)}


@router.get(
    "/partner/webhooks/{webhook_id}/deliveries", summary="The endpoint's deliveries and their attempts"
)
async def list_webhook_deliveries(
    partner_: CurrentPartnerDep,
    webhook_id: WebhookIdPath,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> dict[str, Any]:
    async with runtime.db.session() as session:
        found = await delivery.list_deliveries(
            session, partner_.tenant_id, webhook_id, limit=limit, offset=offset
        )
    return {"deliveries": [_delivery_json(shown) for shown in found]}


@router.post(
    "/partner/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    summary="Send a delivery again now",
)
async def redeliver_webhook(
    partner_: CurrentPartnerDep, webhook_id: WebhookIdPath, delivery_id: DeliveryIdPath, runtime: RuntimeDep
) -> JSONResponse:
    async with runtime.db.session() as session:
        await endpoints.get_endpoint(session, partner_.tenant_id, webhook_id)
        found = await delivery.redeliver(session, partner_.tenant_id, delivery_id, endpoint_id=webhook_id)
        shown = {"id": found.id, "endpointId": found.endpoint_id, "state": found.state}
    return JSONResponse({"delivery": shown}, status_code=202)
