"""One imported file: its counts and its rejected rows, filtered by code and paged."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from headwater.console.views.common import ViewerDep, page, read_visible_source, runtime_of, visible_source
from headwater.ingest.rejected_rows import rejected_rows_csv
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


@router.get("/sources/{source_id}/files/{file_id}/errors.csv")
async def rejected_rows_download(
    request: Request, viewer: ViewerDep, source_id: int, file_id: int
) -> StreamingResponse:
    """The rejected rows in the file's own layout, with line, code and message: fix them and resend."""
    runtime = runtime_of(request)
    source = await read_visible_source(request, viewer, source_id)
    found = await rejected_rows_csv(runtime, source.tenant_id, file_id, source_id=source.id)
    return StreamingResponse(
        found.chunks(runtime),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )
