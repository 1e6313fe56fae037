"""The partner API's import endpoints: files and their errors, runs and runs on demand, and uploads.

Same authentication and error answers as the rest of ``/api/v4`` (``PartnerRoute``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse

from headwater.api.deps import RuntimeDep
from headwater.api.partner import MAX_ID, PREFIX, CurrentPartnerDep, PartnerRoute, SourceIdPath, context_json
from headwater.api.row_errors import row_error_json
from headwater.clock import epoch_millis
from headwater.errors import FieldProblem, HeadwaterError, ValidationFailed
from headwater.ingest import dry_runs
from headwater.ingest.rejected_rows import rejected_rows_csv
from headwater.ingest.runs import MAX_PAGE, describe_run, list_runs, request_run
from headwater.ingest.uploads import import_upload
from headwater.store import imports as ledger_store
from headwater.store import sources as source_store
from headwater.store.tables import ImportErrorRow, ImportFile, Run

router = APIRouter(prefix=PREFIX, route_class=PartnerRoute, tags=["partner imports"])

UPLOAD_PATH = PREFIX + "/import/file"  # bodies up to the upload limit

FileIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The import file's id.")]


class RunsDisabled(HeadwaterError):
    code = "RunsDisabled"


def file_json(row: ImportFile) -> dict[str, Any]:
    """The file's result object: what importing it gave."""
    return {
        "id": row.id,
        "name": row.name,
        "path": row.path,
        "fileType": row.file_type,
        "state": row.state,
        "rows": row.rows,
        "rowsOk": row.rows_ok,
        "rowsWithErrors": row.rows_with_errors,
        "rowsSkipped": row.rows_skipped,
        "rowsRollbacked": row.rows_rollbacked,
        "partnerDatasourceId": row.data_source_id,
        "size": row.size,
        "error": row.error,
        "startedAt": epoch_millis(row.started_at),
        "finishedAt": epoch_millis(row.finished_at),
    }


def dry_run_json(checked: dry_runs.DryRunResult) -> dict[str, Any]:
    """What importing the file would give, and its first rejected rows."""
    return {
        "dryRun": True,
        "name": checked.name,
        "type": checked.processor_type,
        "fileType": checked.file_type,
        "state": checked.state,
        "rows": checked.rows,
        "rowsOk": checked.rows_ok,
        "rowsWithErrors": checked.rows_with_errors,
        "error": checked.error,
        "errors": [row_error_json(error) for error in checked.errors],
    }


def run_json(run: Run) -> dict[str, Any]:
    """A run, its times in epoch milliseconds like every time of this dialect."""
    shown = describe_run(run)
    shown["partnerDatasourceId"] = shown.pop("dataSourceId")
    for key in ("queuedAt", "startedAt", "finishedAt"):
        shown[key] = epoch_millis(shown[key])
    return shown


def error_json(row: ImportErrorRow) -> dict[str, Any]:
    return {
        "line": row.line,
        "column": row.column,
        "code": row.code,
        "message": row.message,
        "rawLine": row.raw_line,
        "rawTruncated": row.raw_truncated,
    }


@router.get("/partner/datasources/{source_id}/imports", summary="The files a datasource has seen")
async def list_imports(
    request: Request, partner: CurrentPartnerDep, source_id: SourceIdPath, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.session() as session:
        await source_store.get(session, partner.tenant_id, source_id, owner_partner_id=partner.partner_id)
        files = await ledger_store.list_files(session, partner.tenant_id, source_id)
        shown = [file_json(row) for row in files]
    return {"context": context_json(request, partner), "imports": shown}


@router.get(
    "/partner/datasources/{source_id}/imports/{file_id}/errors",
    summary="Why each rejected row of a file was rejected",
)
async def list_import_errors(
    request: Request,
    partner: CurrentPartnerDep,
    source_id: SourceIdPath,
    file_id: FileIdPath,
    runtime: RuntimeDep,
    first_row: Annotated[int, Query(alias="firstRow", ge=0, le=2**31)] = 0,
    max_rows: Annotated[int, Query(alias="maxNumRows", ge=1, le=1000)] = 1000,
) -> dict[str, Any]:
    async with runtime.db.session() as session:
        await source_store.get(session, partner.tenant_id, source_id, owner_partner_id=partner.partner_id)
        await ledger_store.get_file(session, partner.tenant_id, file_id, source_id=source_id)
        errors = await ledger_store.list_errors(
            session, partner.tenant_id, file_id, limit=max_rows, offset=first_row
        )
        shown = [error_json(row) for row in errors]
    return {"context": context_json(request, partner), "importErrors": shown}


@router.get(
    "/partner/datasources/{source_id}/imports/{file_id}/errors.csv",
    summary="The file's rejected rows as a CSV in its own layout, with line, code and message: fix and resend",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def import_errors_csv(
    partner: CurrentPartnerDep, source_id: SourceIdPath, file_id: FileIdPath, runtime: RuntimeDep
) -> StreamingResponse:
    found = await rejected_rows_csv(
        runtime, partner.tenant_id, file_id, source_id=source_id, owner_partner_id=partner.partner_id
    )
    return StreamingResponse(
        found.chunks(runtime),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )


@router.post(
    "/partner/datasources/{source_id}/run", status_code=202, summary="Start a run of the datasource now"
)
async def start_run(
    request: Request, partner: CurrentPartnerDep, source_id: SourceIdPath, runtime: RuntimeDep
) -> JSONResponse:
    async with runtime.db.session() as session:
        source = await source_store.get(
            session, partner.tenant_id, source_id, owner_partner_id=partner.partner_id
        )
        if source.data_source_type is None:
            raise ValidationFailed([FieldProblem("dataSourceType", "NotAPullSource", "uploads only")])
    if runtime.runner is None:
        raise RunsDisabled("this headwater process does not run imports")
    asked = await request_run(runtime, runtime.runner, partner.tenant_id, source_id, trigger="manual")
    run: dict[str, Any] = {
        "partnerDatasourceId": source_id,
        "status": "queued" if asked.queued else "alreadyQueued",
    }
    if asked.queued:
        run["id"] = asked.run_id
    return JSONResponse({"context": context_json(request, partner), "run": run}, status_code=202)


@router.get(
    "/partner/datasources/{source_id}/runs",
    summary="The datasource's runs, newest first: what each found, imported, and why it failed",
)
async def list_source_runs(
    request: Request,
    partner: CurrentPartnerDep,
    source_id: SourceIdPath,
    runtime: RuntimeDep,
    first_row: Annotated[int, Query(alias="firstRow", ge=0, le=2**31)] = 0,
    max_rows: Annotated[int, Query(alias="maxNumRows", ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    found = await list_runs(
        runtime,
        partner.tenant_id,
        source_id,
        owner_partner_id=partner.partner_id,
        limit=max_rows,
        offset=first_row,
    )
    return {"context": context_json(request, partner), "runs": [run_json(run) for run in found]}


@router.post(UPLOAD_PATH.removeprefix(PREFIX), summary="Upload a file and import it now")
async def upload_file(
    partner: CurrentPartnerDep,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File(description="The CSV or XLSX file.")],
    name: Annotated[str | None, Query(max_length=1000, description="The file's name.")] = None,
    processor_type: Annotated[int | None, Query(alias="type", ge=0, le=99999)] = None,
    datasource_id: Annotated[int | None, Query(alias="datasourceId", ge=1, le=2**63 - 1)] = None,
    dry_run: Annotated[
        bool, Query(alias="dryRun", description="Only read and check the file: store nothing.")
    ] = False,
) -> dict[str, Any]:
    receive = dry_runs.dry_run if dry_run else import_upload
    received = await receive(
        runtime,
        partner.tenant_id,
        source_id=datasource_id,
        name=name or file.filename or "upload",
        processor_type=processor_type,
        data=file.file,
        owner_partner_id=partner.partner_id,
    )
    if isinstance(received, dry_runs.DryRunResult):
        return dry_run_json(received)
    return file_json(received)
