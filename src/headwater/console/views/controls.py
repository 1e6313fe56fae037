"""A source's controls beyond run and pause: test its connection, reset its SFTP host key, re-import.

Each goes through the core function the partner API uses; a partner acts on its own sources only
(``visible_source`` first, then the core call scoped by the source's tenant and the partner).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from headwater.console.session import Viewer
from headwater.console.views.common import (
    ViewerDep,
    back_to,
    checked_form,
    page,
    read_visible_source,
    runtime_of,
    visible_source,
)
from headwater.errors import NotReimportable, RateLimited, ValidationFailed
from headwater.ingest import connection_checks, host_keys, reimports

router = APIRouter()

_RUN_NOTICES = {
    reimports.RunRequest.QUEUED: "queued",
    reimports.RunRequest.ALREADY_QUEUED: "already-queued",
    reimports.RunRequest.NOT_STARTED: "next-run",
}


def _owner(viewer: Viewer) -> int | None:
    return None if viewer.is_operator else viewer.partner_id


@router.post("/sources/{source_id}/test")
async def test_connection(request: Request, viewer: ViewerDep, source_id: int) -> HTMLResponse:
    await checked_form(request, viewer)
    runtime = runtime_of(request)
    source = await read_visible_source(request, viewer, source_id)
    check = None
    refused = None
    try:
        check = await connection_checks.check_source(
            runtime, source.tenant_id, source.id, owner_partner_id=_owner(viewer)
        )
    except ValidationFailed as exc:
        refused = "; ".join(problem.message or problem.code for problem in exc.problems)
    except RateLimited as exc:
        refused = f"Too many connection tests are under way: try again in {exc.retry_after} seconds."
    return page(
        request,
        viewer,
        "connection_test.html",
        title=f"Connection test of {source.name}",
        nav="sources",
        source=source,
        check=check,
        refused=refused,
        shown_max=connection_checks.MAX_FILES_SHOWN,
    )


@router.post("/sources/{source_id}/host-key/reset")
async def reset_host_key(request: Request, viewer: ViewerDep, source_id: int) -> Response:
    await checked_form(request, viewer)
    async with runtime_of(request).db.session() as session:
        source = await visible_source(session, viewer, source_id)
        await host_keys.reset_host_key(session, source.tenant_id, source.id, owner_partner_id=_owner(viewer))
    return back_to(f"/sources/{source_id}", "host-key-reset")


@router.post("/sources/{source_id}/reimport")
async def reimport_source(request: Request, viewer: ViewerDep, source_id: int) -> Response:
    await checked_form(request, viewer)
    runtime = runtime_of(request)
    try:
        async with runtime.db.session() as session:
            source = await visible_source(session, viewer, source_id)
            await reimports.request_source_reimport(
                session, source.tenant_id, source.id, owner_partner_id=_owner(viewer)
            )
    except NotReimportable:
        return back_to(f"/sources/{source_id}", "reimport-upload-only")
    asked = await reimports.run_marked(runtime, source.tenant_id, source.id, trigger="console")
    return back_to(f"/sources/{source_id}", f"reimport-{_RUN_NOTICES[asked]}")


@router.post("/sources/{source_id}/files/{file_id}/reimport")
async def reimport_file(request: Request, viewer: ViewerDep, source_id: int, file_id: int) -> Response:
    await checked_form(request, viewer)
    runtime = runtime_of(request)
    target = f"/sources/{source_id}/files/{file_id}"
    try:
        async with runtime.db.session() as session:
            source = await visible_source(session, viewer, source_id)
            await reimports.request_file_reimport(
                session, source.tenant_id, file_id, source_id=source.id, owner_partner_id=_owner(viewer)
            )
    except NotReimportable:
        return back_to(target, "reimport-uploaded")
    asked = await reimports.run_marked(runtime, source.tenant_id, source.id, trigger="console")
    return back_to(target, f"reimport-{_RUN_NOTICES[asked]}")
