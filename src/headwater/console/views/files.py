"""One imported file: its counts and its rejected rows, filtered by code and paged."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from headwater.console.views.common import ViewerDep, page, runtime_of, visible_source
from headwater.store import imports as import_store

router = APIRouter()

PAGE_SIZE = 50


@router.get("/sources/{source_id}/files/{file_id}")
async def file_page(
    request: Request,
    viewer: ViewerDep,
    source_id: int,
    file_id: int,
    code: str = "",
    notice: str = "",
    page_number: int = Query(1, alias="page", ge=1, le=1_000_000),
) -> HTMLResponse:
    runtime = runtime_of(request)
    async with runtime.db.session() as session:
        source = await visible_source(session, viewer, source_id)
        imported = await import_store.get_file(session, source.tenant_id, file_id, source_id=source.id)
        errors = await import_store.list_errors(
            session,
            source.tenant_id,
            imported.id,
            limit=PAGE_SIZE + 1,
            offset=(page_number - 1) * PAGE_SIZE,
            code=code[:60] or None,
        )
        codes = await import_store.error_codes(session, source.tenant_id, imported.id)
    return page(
        request,
        viewer,
        "file.html",
        title=imported.name,
        source=source,
        file=imported,
        errors=errors[:PAGE_SIZE],
        has_next=len(errors) > PAGE_SIZE,
        page_number=page_number,
        code=code[:60],
        codes=codes,
        notice=notice,
    )
