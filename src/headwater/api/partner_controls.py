"""The partner API's controls over a datasource: test its connection, reset its SFTP host key, re-import files.

Same authentication and error answers as the rest of ``/api/v4`` (``PartnerRoute``); a partner reaches only
its own datasources (another partner's answer ``404 partnerDataSource NotFound``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from headwater.api.deps import RuntimeDep
from headwater.api.partner import (
    DATASOURCE_BODY,
    PREFIX,
    CurrentPartnerDep,
    JsonObjectDep,
    PartnerRoute,
    SourceIdPath,
    context_json,
    datasource_json,
)
from headwater.api.partner_imports import FileIdPath, file_json
from headwater.clock import epoch_millis
from headwater.ingest import connection_checks, reimports
from headwater.ingest.host_keys import reset_host_key

router = APIRouter(prefix=PREFIX, route_class=PartnerRoute, tags=["partner controls"])

_TRIGGER = "reimport"


_DATASOURCE_BODY = {
    "required": True,
    "content": {"application/json": {"schema": DATASOURCE_BODY}},
}


@router.post(
    "/partner/datasources/test",
    summary="Test a datasource's fields before creating it",
    openapi_extra={"requestBody": _DATASOURCE_BODY},
)
async def test_unsaved_datasource(
    request: Request, partner: CurrentPartnerDep, body: JsonObjectDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """The body is a create body; it is validated the same way and stored nowhere."""
    check = await connection_checks.check_unsaved(runtime, partner.tenant_id, body)
    return {"context": context_json(request, partner), "connectionTest": check.shown(epoch_millis)}


@router.post(
    "/partner/datasources/{source_id}/test", summary="Test a datasource's connection without importing"
)
async def test_datasource(
    request: Request, partner: CurrentPartnerDep, source_id: SourceIdPath, runtime: RuntimeDep
) -> dict[str, Any]:
    check = await connection_checks.check_source(
        runtime, partner.tenant_id, source_id, owner_partner_id=partner.partner_id
    )
    return {"context": context_json(request, partner), "connectionTest": check.shown(epoch_millis)}


@router.post(
    "/partner/datasources/{source_id}/host-key/reset",
    summary="Forget the pinned SFTP host key: the next run pins the key the server presents",
)
async def reset_datasource_host_key(
    request: Request, partner: CurrentPartnerDep, source_id: SourceIdPath, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.session() as session:
        source, forgotten = await reset_host_key(
            session, partner.tenant_id, source_id, owner_partner_id=partner.partner_id
        )
        shown = datasource_json(source)
    return {
        "context": context_json(request, partner),
        "datasource": shown,
        "forgottenHostKeyFingerprint": forgotten,
    }


def _run_json(source_id: int, status: reimports.RunRequest) -> dict[str, Any]:
    return {"partnerDatasourceId": source_id, "status": status.value}


@router.post(
    "/partner/datasources/{source_id}/imports/{file_id}/reimport",
    status_code=202,
    summary="Import a file again at a run started now, replacing its rows",
)
async def reimport_file(
    request: Request,
    partner: CurrentPartnerDep,
    source_id: SourceIdPath,
    file_id: FileIdPath,
    runtime: RuntimeDep,
) -> JSONResponse:
    async with runtime.db.session() as session:
        row = await reimports.request_file_reimport(
            session, partner.tenant_id, file_id, source_id=source_id, owner_partner_id=partner.partner_id
        )
        shown = file_json(row)
    status = await reimports.run_marked(runtime, partner.tenant_id, source_id, _TRIGGER)
    body = {"context": context_json(request, partner), "import": shown, "run": _run_json(source_id, status)}
    return JSONResponse(body, status_code=202)


@router.post(
    "/partner/datasources/{source_id}/reimport",
    status_code=202,
    summary="Import every file of the datasource again at a run started now, replacing their rows",
)
async def reimport_datasource(
    request: Request, partner: CurrentPartnerDep, source_id: SourceIdPath, runtime: RuntimeDep
) -> JSONResponse:
    async with runtime.db.session() as session:
        marked = await reimports.request_source_reimport(
            session, partner.tenant_id, source_id, owner_partner_id=partner.partner_id
        )
    status = await reimports.run_marked(runtime, partner.tenant_id, source_id, _TRIGGER)
    body = {
        "context": context_json(request, partner),
        "reimport": {"partnerDatasourceId": source_id, "files": marked},
        "run": _run_json(source_id, status),
    }
    return JSONResponse(body, status_code=202)
