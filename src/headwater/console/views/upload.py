"""Upload a file into a source: check it first (a dry run stores nothing), then import it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData, UploadFile

from headwater import overview
from headwater.console.forms import OPTIONS
from headwater.console.session import Viewer
from headwater.console.views.common import ViewerDep, back_to, checked_form, page, runtime_of, visible_source
from headwater.errors import FieldProblem, ValidationFailed
from headwater.ingest import uploads
from headwater.ingest.dry_runs import dry_run
from headwater.store.tables import DataSource

router = APIRouter()


async def _choices(request: Request, viewer: Viewer) -> list[tuple[DataSource, str]]:
    async with runtime_of(request).db.session() as session:
        return await overview.sources_in(session, viewer.scope)


async def _page(
    request: Request,
    viewer: Viewer,
    *,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    result: Any = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        viewer,
        "upload.html",
        status_code,
        title="Upload a file",
        nav="upload",
        sources=await _choices(request, viewer),
        processor_types=OPTIONS["processorType"],
        values=values,
        errors=errors or {},
        result=result,
    )


@router.get("/upload")
async def upload_page(request: Request, viewer: ViewerDep, source: str = "") -> HTMLResponse:
    return await _page(request, viewer, values={"source": source[:20]})


def _problems(problems: list[FieldProblem]) -> dict[str, str]:
    fields = {"type": "processorType", "name": "file", "processorType": "processorType"}
    errors: dict[str, str] = {}
    for problem in problems:
        errors.setdefault(fields.get(problem.field, "file"), problem.message or problem.code)
    return errors


@router.post("/upload")
async def upload(request: Request, viewer: ViewerDep) -> Response:
    form = await checked_form(request, viewer)
    try:
        return await _upload(request, viewer, form)
    finally:
        await form.close()  # the spooled file part


async def _upload(request: Request, viewer: Viewer, form: FormData) -> Response:
    values = {key: str(form.get(key) or "") for key in ("source", "processorType")}
    sent = form.get("file")
    if not isinstance(sent, UploadFile) or not sent.filename:
        return await _page(request, viewer, values=values, errors={"file": "Choose a file."}, status_code=400)
    runtime = runtime_of(request)
    source_id = int(values["source"]) if values["source"].isdigit() else None
    processor_type = int(values["processorType"]) if values["processorType"].isdigit() else None
    if source_id is None and viewer.is_operator:
        return await _page(
            request,
            viewer,
            values=values,
            errors={"source": "Choose the source to upload into."},
            status_code=400,
        )
    tenant_id = viewer.tenant_id
    if source_id is not None:
        async with runtime.db.session() as session:
            tenant_id = (await visible_source(session, viewer, source_id)).tenant_id
    assert tenant_id is not None
    common: dict[str, Any] = {
        "source_id": source_id,
        "name": sent.filename,
        "processor_type": processor_type,
        "data": sent.file,
        "owner_partner_id": viewer.partner_id,
    }
    try:
        if form.get("action") == "dryrun":
            result = await dry_run(runtime, tenant_id, **common)
            return await _page(request, viewer, values=values, result=result)
        imported = await uploads.import_upload(runtime, tenant_id, **common)
    except ValidationFailed as exc:
        return await _page(request, viewer, values=values, errors=_problems(exc.problems), status_code=400)
    return back_to(f"/sources/{imported.data_source_id}/files/{imported.id}", "uploaded")
