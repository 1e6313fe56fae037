"""The integration API's webhook endpoints (``/prod/webhookEndpoints``), in its conventions: bare JSON
results without null fields, ISO times, errors as 200 messages (``invalid_url``, ``host_not_allowed``,
``invalid_event``, ``not_found_Webhook`` ...) made by the dialect's route class."""

# No ``from __future__ import annotations``: the routes are made inside a function, and FastAPI must
# see their parameter types (the area dependency is handed in) as objects, not names.
import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from headwater.api import bodies
from headwater.api.deps import RuntimeDep
from headwater.clock import iso_millis
from headwater.ingest.connectors.hosts import HostPolicy
from headwater.webhooks import delivery, endpoints


def _json(data: Any) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")), media_type="application/json"
    )


def _shown(described: dict[str, Any]) -> dict[str, Any]:
    """Times in ISO 8601, null fields left out."""
    return {
        key: iso_millis(value) if key.endswith("At") else value
        for key, value in described.items()
        if value is not None
    }


def _endpoint(described: dict[str, Any], secret: str | None = None) -> dict[str, Any]:
    shown = _shown(described)
    if secret is not None:
        shown["secret"] = secret
    return shown


def _delivery(described: dict[str, Any]) -> dict[str, Any]:
    return {**_shown(described), "log": [_shown(entry) for entry in described["log"]]}


def add_webhook_routes(router: APIRouter, area_dep: Any, max_id: int) -> None:
    """Add the routes to the dialect's router; ``area_dep`` authenticates the area (tenant)."""
    IdPath = Annotated[int, Path(ge=1, le=max_id, description="The webhook endpoint's id.")]
    DeliveryPath = Annotated[int, Path(alias="deliveryId", ge=1, le=max_id, description="The delivery's id.")]

    def hosts(runtime: Any) -> HostPolicy:
        return HostPolicy.from_settings(runtime.settings)

    @router.post("/webhookEndpoints", summary="Register a webhook endpoint (its secret is shown once)")
    async def create(request: Request, area: area_dep, runtime: RuntimeDep) -> Response:
        body = bodies.json_object(await request.body())
        async with runtime.db.session() as session:
            created = await endpoints.create_endpoint(
                session, area.tenant_id, body, runtime.box, hosts=hosts(runtime)
            )
            return _json(_endpoint(endpoints.describe(created.endpoint), created.secret))

    @router.get("/webhookEndpoints", summary="The area's webhook endpoints")
    async def list_all(area: area_dep, runtime: RuntimeDep) -> Response:
        async with runtime.db.session() as session:
            found = await endpoints.list_endpoints(session, area.tenant_id)
            return _json([_endpoint(endpoints.describe(e)) for e in found])

    @router.get("/webhookEndpoints/{id}", summary="One webhook endpoint")
    async def get_one(id: IdPath, area: area_dep, runtime: RuntimeDep) -> Response:
        async with runtime.db.session() as session:
            return _json(
                _endpoint(endpoints.describe(await endpoints.get_endpoint(session, area.tenant_id, id)))
            )

    @router.patch("/webhookEndpoints/{id}", summary="Change some fields of a webhook endpoint")
    async def patch(id: IdPath, request: Request, area: area_dep, runtime: RuntimeDep) -> Response:
        body = bodies.json_object(await request.body())
        async with runtime.db.session() as session:
            changed = await endpoints.update_endpoint(session, area.tenant_id, id, body, hosts=hosts(runtime))
            return _json(_endpoint(endpoints.describe(changed)))

    @router.delete("/webhookEndpoints/{id}", summary="Remove a webhook endpoint (answers what was removed)")
    async def delete(id: IdPath, area: area_dep, runtime: RuntimeDep) -> Response:
        async with runtime.db.session() as session:
            shown = _endpoint(endpoints.describe(await endpoints.get_endpoint(session, area.tenant_id, id)))
            await endpoints.delete_endpoint(session, area.tenant_id, id)
        return _json(shown)

    @router.post("/webhookEndpoints/{id}/rotateSecret", summary="Replace the endpoint's signing secret")
    async def rotate(id: IdPath, area: area_dep, runtime: RuntimeDep) -> Response:
        async with runtime.db.session() as session:
            rotated = await endpoints.rotate_secret(session, area.tenant_id, id, runtime.box)
            return _json(_endpoint(endpoints.describe(rotated.endpoint), rotated.secret))

    @router.get("/webhookEndpoints/{id}/deliveries", summary="The endpoint's deliveries and their attempts")
    async def deliveries(id: IdPath, area: area_dep, runtime: RuntimeDep) -> Response:
        async with runtime.db.session() as session:
            found = await delivery.list_deliveries(session, area.tenant_id, id)
        return _json([_delivery(shown) for shown in found])

    @router.post(
        "/webhookEndpoints/{id}/deliveries/{deliveryId}/redeliver", summary="Send a delivery again now"
    )
    async def redeliver(
        id: IdPath,
        area: area_dep,
        runtime: RuntimeDep,
        delivery_id: DeliveryPath,
    ) -> Response:
        async with runtime.db.session() as session:
            await endpoints.get_endpoint(session, area.tenant_id, id)
            found = await delivery.redeliver(session, area.tenant_id, delivery_id, endpoint_id=id)
            return _json({"id": found.id, "endpointId": found.endpoint_id, "state": found.state})
