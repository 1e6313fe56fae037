"""The integration API: Thetis IMS conventions (seed 004) under ``/prod``, its token server at ``/oauth2/token``.

Two layers answer, as the contract describes. The "web server" refuses what never reaches the
application with the usual status codes: 403 for a missing, expired or wrong token or an ungranted
``x-api-key``, 429 past a key's limits, 404/405 for unknown routes. Everything that reaches the
application answers 200: the result (bare JSON, null fields left out) or a message
``{"messageCode", "messageType": "ERROR", "messageText"}``, also for an unexpected failure, which is
logged with its stack trace under a request id.

Handlers open their own transaction (``async with runtime.db.session()``): the route class turns
errors into answers, so only a transaction inside the handler sees the exception and rolls back.
The token server lives in ``oauth_token`` (``oauth_router``, re-exported here) and the OpenAPI
description in ``integration_openapi``.
"""

from __future__ import annotations

import functools
import re
import tempfile
import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, BinaryIO, cast

import anyio
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, OAuth2
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from headwater import __version__, resources
from headwater.access import areakeys, oauth
from headwater.api import bodies, docs
from headwater.api import integration_openapi as doc
from headwater.api.deps import RuntimeDep
from headwater.api.error_tables import ErrorTable
from headwater.api.oauth_token import TOKEN_PATH, oauth_router
from headwater.api.responses import JsonBytesResponse
from headwater.api.route_index import RouteIndex
from headwater.api.row_errors import row_error_json
from headwater.clock import iso_millis
from headwater.domain import CUSTOM_SYSTEM, ProcessorType
from headwater.errors import (
    AuthenticationFailed,
    Conflict,
    HeadwaterError,
    NotFound,
    PermissionDenied,
    RateLimited,
    RequestTooLarge,
    StoreBusy,
    ValidationFailed,
)
from headwater.ingest import connection_checks, host_keys, processor_types, reimports, runs
from headwater.ingest.connectors.hosts import HostPolicy
from headwater.logging import get_logger
from headwater.runtime import Runtime
from headwater.settings import Settings
from headwater.sources import create_pull_source, update_pull_source

MAX_ID = resources.MAX_ID
UPLOAD_PATH = "/dataSources/{id}/importFiles"  # under the prefix; bodies up to the upload limit
SPOOL_IN_MEMORY = 1024 * 1024

log = get_logger(__name__)


# --- the application's own refusals -------------------------------------------------------------


class MissingFile(HeadwaterError):
    code = "missing_file"


class InvalidUpload(HeadwaterError):
    code = "invalid_upload"


class MissingName(HeadwaterError):
    code = "missing_name"


class InvalidAttribute(HeadwaterError):
    code = "invalid_attribute"


class NotPullSource(HeadwaterError):
    code = "not_pull_source"


class RunsDisabled(HeadwaterError):
    code = "runs_disabled"


class RunAlreadyRequested(HeadwaterError):
    code = "run_already_requested"


class GatewayFailure(Exception):
    """Something broke before the request reached the application (e.g. the store during authentication)."""


# --- every answer of this dialect, made here ----------------------------------------------------


def _json(data: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JsonBytesResponse(data, status_code=status_code, headers=headers)


def _message(code: str, text: str, **extra: str) -> Response:
    return _json({"messageCode": code, "messageType": "ERROR", "messageText": text, **extra})


def _field_code(code: str) -> str:
    """``InvalidProcessorType`` -> ``invalid_processorType``; ``HostRequired`` -> ``missing_host``."""
    if code.startswith("Invalid") and len(code) > len("Invalid"):
        rest = code[len("Invalid") :]
        return "invalid_" + rest[0].lower() + rest[1:]
    if code.endswith("Required") and len(code) > len("Required"):
        rest = code[: -len("Required")]
        return "missing_" + rest[0].lower() + rest[1:]
    return _snake(code)


def _snake(code: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", code).lower()


def too_large(exc: RequestTooLarge) -> Response:
    """The web server's refusal, as an API gateway words it: the request never reached the application."""
    return _json({"message": "Request Too Long"}, 413)


def _internal_error(request: Request, exc: Exception) -> Response:
    request_id = uuid.uuid4().hex
    log.error("integration_internal_error", request_id=request_id, path=request.url.path, exc_info=exc)
    return _message(
        "internal_error", f"an internal error occurred (request {request_id})", requestId=request_id
    )


def _gateway_failure(request: Request, exc: GatewayFailure) -> Response:
    log.error("integration_gateway_failure", path=request.url.path, exc_info=exc.__cause__ or exc)
    return _json({"message": "Internal server error"}, 500)


def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
    locations = [error.get("loc", ()) for error in exc.errors()]
    if any(loc[:2] == ("path", "id") for loc in locations):
        return _message("invalid_id", "the id must be a whole number from 1 to 9223372036854775807")
    return _message("invalid_request", "the request's parameters are not valid")


def _application_error(request: Request, exc: HeadwaterError) -> Response:
    code = exc.code if "_" in exc.code or exc.code.islower() else _snake(exc.code)
    return _message(code, exc.message)


def _forbidden(request: Request, exc: Exception) -> Response:
    return _json({"message": "Forbidden"}, 403)


# Each error's answer (entries take the request too); the nearest class along the error's MRO applies.
ERRORS: ErrorTable[Callable[[Request, Any], Response]] = ErrorTable(
    {
        # The web server's refusals: the request never reached the application.
        AuthenticationFailed: _forbidden,
        PermissionDenied: _forbidden,
        RateLimited: lambda request, exc: _json(
            {"message": "Too Many Requests"}, 429, {"Retry-After": str(exc.retry_after)}
        ),
        RequestTooLarge: lambda request, exc: too_large(exc),
        StarletteHTTPException: lambda request, exc: _json({"message": str(exc.detail)}, exc.status_code),
        StoreBusy: lambda request, exc: _json(
            {"message": "Service Unavailable"}, 503, {"Retry-After": str(exc.retry_after)}
        ),
        GatewayFailure: _gateway_failure,
        # The application's answers: HTTP 200 with a message.
        NotFound: lambda request, exc: _message(f"not_found_{exc.kind.replace(' ', '')}", exc.message),
        ValidationFailed: lambda request, exc: _message(_field_code(exc.problems[0].code), exc.message),
        Conflict: lambda request, exc: _message(f"duplicate_{exc.field}", f"{exc.field}: {exc.message}"),
        HeadwaterError: _application_error,
        RequestValidationError: _invalid_request,
        Exception: _internal_error,
    }
)


def _answer(request: Request, exc: Exception) -> Response:
    """The one place where this dialect turns an error into an answer."""
    entry = ERRORS.resolve(type(exc))
    assert entry is not None  # the table answers Exception
    return entry(request, exc)


class IntegrationRoute(APIRoute):
    """Route class of the integration dialect: whatever goes wrong becomes this dialect's answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answered(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # every failure gets the contract's answer, see _answer
                return _answer(request, exc)

        return answered


async def _http_exception(request: Request, exc: Exception) -> Response:
    return _answer(request, exc)


# --- authentication: the web server's part ------------------------------------------------------

_client_scheme = OAuth2(
    flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(tokenUrl=TOKEN_PATH, scopes={})),
    scheme_name="clientCredentials",
    description="An access token from POST /oauth2/token (client credentials), as `Authorization: Bearer`.",
    auto_error=False,
)
_area_scheme = APIKeyHeader(
    name="x-api-key",
    scheme_name="areaKey",
    description="The key of the area (tenant) the request is about; the client must be granted it.",
    auto_error=False,
)


async def authenticated_area(
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Depends(_client_scheme)] = None,
    api_key: Annotated[str | None, Depends(_area_scheme)] = None,
) -> oauth.Area:
    """The area of a valid token and a granted x-api-key; a refusal is the web server's 403."""
    scheme, _, token = (authorization or "").partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" else None
    try:
        async with runtime.db.reading() as session:
            return await oauth.authorize(session, runtime.box, bearer, api_key)
    except HeadwaterError:
        raise
    except Exception as exc:
        raise GatewayFailure("authentication could not be completed") from exc


async def current_area(
    runtime: RuntimeDep, area: Annotated[oauth.Area, Depends(authenticated_area)]
) -> oauth.Area:
    """The authenticated area, once its key's budgets allow one more request (else the web server's 429)."""
    try:
        await areakeys.spend(runtime.limiter, area, runtime.settings)
    except HeadwaterError:
        raise
    except Exception as exc:
        raise GatewayFailure("the rate limit could not be checked") from exc
    return area


AreaDep = Annotated[oauth.Area, Depends(current_area)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The resource's id.")]


# --- resources ----------------------------------------------------------------------------------

DATA_SOURCES = resources.RESOURCES["dataSources"]
IMPORT_FILES = resources.RESOURCES["importFiles"]


def _add_reading_routes(router: APIRouter, resource: resources.Resource) -> None:
    item = doc.ref(doc.schema_name(resource))
    listing = {"type": "array", "items": item}

    async def list_all(request: Request, area: AreaDep, runtime: RuntimeDep) -> Response:
        async with runtime.db.reading() as session:
            body = await resources.list_json(
                session, area.tenant_id, resource, request.query_params.multi_items()
            )
        return Response(body, media_type="application/json")

    async def get_one(id: IdPath, area: AreaDep, runtime: RuntimeDep) -> Response:
        async with runtime.db.reading() as session:
            return _json(await resources.get_one(session, area.tenant_id, resource, id))

    router.add_api_route(
        f"/{resource.name}",
        list_all,
        methods=["GET"],
        summary=f"List {resource.name}",
        operation_id=f"list_{resource.name}",
        responses=doc.answers(listing, f"The {resource.name}, in id order"),
        openapi_extra={"parameters": doc.list_parameters(resource)},
    )
    router.add_api_route(
        f"/{resource.name}/{{id}}",
        get_one,
        methods=["GET"],
        summary=f"Get one of the {resource.name}",
        operation_id=f"get_{resource.name}",
        responses=doc.answers(item, f"The {resource.kind}"),
    )
    for name in resource.subordinates:
        _add_subordinate_route(router, resource, name)


def _add_subordinate_route(router: APIRouter, parent: resources.Resource, name: str) -> None:
    child = resources.RESOURCES[name]

    async def list_subordinates(id: IdPath, request: Request, area: AreaDep, runtime: RuntimeDep) -> Response:
        async with runtime.db.reading() as session:
            body = await resources.list_subordinates_json(
                session, area.tenant_id, parent, id, name, request.query_params.multi_items()
            )
        return Response(body, media_type="application/json")

    router.add_api_route(
        f"/{parent.name}/{{id}}/{name}",
        list_subordinates,
        methods=["GET"],
        summary=f"List the {name} of one of the {parent.name}",
        operation_id=f"list_{parent.name}_{name}",
        responses=doc.answers(
            {"type": "array", "items": doc.ref(doc.schema_name(child))}, f"The {name}, in id order"
        ),
        openapi_extra={"parameters": doc.list_parameters(child)},
    )


def _add_data_source_routes(router: APIRouter) -> None:
    source = doc.ref(doc.schema_name(DATA_SOURCES))

    @router.post(
        "/dataSources",
        summary="Create a pull source (the partner API's fields)",
        operation_id="create_dataSources",
        responses=doc.answers(source, "The new data source"),
        openapi_extra=doc.body_schema(doc.data_source_body()),
    )
    async def create(request: Request, area: AreaDep, runtime: RuntimeDep) -> Response:
        body = bodies.json_object(await request.body())
        async with runtime.db.session() as session:
            created = await create_pull_source(
                session, area.tenant_id, body, runtime.box, hosts=HostPolicy.from_settings(runtime.settings)
            )
            return _json(resources.show(DATA_SOURCES, created))

    async def change(area: oauth.Area, runtime: Runtime, source_id: int, changes: dict[str, Any]) -> Response:
        async with runtime.db.session() as session:
            found = await resources.get_row(session, area.tenant_id, DATA_SOURCES, source_id)
            if found.system == CUSTOM_SYSTEM:
                if "processorType" not in changes or set(changes) & set(doc.WRITABLE_ATTRIBUTES) - {
                    "processorType"
                }:
                    raise NotPullSource("an upload-only source has no server settings to change")
                set_type = await processor_types.set_processor_type(session, found, changes["processorType"])
                return _json(resources.show(DATA_SOURCES, set_type))
            updated = await update_pull_source(
                session,
                area.tenant_id,
                found,
                changes,
                runtime.box,
                partial=True,
                hosts=HostPolicy.from_settings(runtime.settings),
            )
            return _json(resources.show(DATA_SOURCES, updated))

    @router.patch(
        "/dataSources/{id}",
        summary="Change some attributes of a pull source",
        operation_id="patch_dataSources",
        responses=doc.answers(source, "The changed data source"),
        openapi_extra=doc.body_schema(doc.patch_schema()),
    )
    async def patch(id: IdPath, request: Request, area: AreaDep, runtime: RuntimeDep) -> Response:
        return await change(area, runtime, id, bodies.json_object(await request.body()))

    @router.put(
        "/dataSources/{id}/{attribute}",
        summary="Set one attribute of a pull source (the body is its new JSON value)",
        operation_id="put_dataSources_attribute",
        responses=doc.answers(source, "The changed data source"),
        openapi_extra=doc.body_schema({}),
    )
    async def put_attribute(
        id: IdPath,
        attribute: Annotated[str, Path(json_schema_extra={"enum": list(doc.WRITABLE_ATTRIBUTES)})],
        request: Request,
        area: AreaDep,
        runtime: RuntimeDep,
    ) -> Response:
        if attribute not in doc.WRITABLE_ATTRIBUTES:
            raise InvalidAttribute(f"{attribute[:100]!r} is not an attribute that can be set")
        return await change(area, runtime, id, {attribute: bodies.json_value(await request.body())})

    @router.post(
        "/dataSources/{id}/runs",
        summary="Start a run of a pull source now",
        operation_id="create_dataSources_runs",
        responses=doc.answers(
            {
                "type": "object",
                "properties": {
                    "dataSourceId": {"type": "integer"},
                    "trigger": {"type": "string"},
                    "outcome": {"type": "string", "enum": ["requested"]},
                    "runId": {"type": "integer"},
                },
            },
            "The run is requested: it is listed under runs at once, as queued",
        ),
    )
    async def start_run(id: IdPath, area: AreaDep, runtime: RuntimeDep) -> Response:
        if runtime.runner is None:
            raise RunsDisabled("imports are disabled on this installation")
        async with runtime.db.session() as session:
            found = await resources.get_row(session, area.tenant_id, DATA_SOURCES, id)
            if found.system == CUSTOM_SYSTEM:
                raise NotPullSource("an upload-only source has no server to pull from")
        asked = await runs.request_run(runtime, runtime.runner, area.tenant_id, id, trigger="api")
        if not asked.queued:
            raise RunAlreadyRequested("a run of this data source is already queued or under way")
        return _json({"dataSourceId": id, "trigger": "api", "outcome": "requested", "runId": asked.run_id})

    @router.post(
        UPLOAD_PATH,
        summary="Upload a file and import it into the data source",
        operation_id="create_dataSources_importFiles",
        responses=doc.answers(doc.ref(doc.schema_name(IMPORT_FILES)), "The imported file"),
        openapi_extra={
            "parameters": [
                {
                    "name": "name",
                    "in": "query",
                    "required": False,
                    "description": "The file's name (required with a raw body; multipart takes the part's file name).",
                    "schema": {"type": "string"},
                },
                {
                    "name": "processorType",
                    "in": "query",
                    "required": False,
                    "description": "The file's processor type: required when the data source has none; "
                    "must be the source's own when it has one.",
                    "schema": {"type": "integer", "enum": [t.value for t in ProcessorType]},
                },
                {
                    "name": "dryRun",
                    "in": "query",
                    "required": False,
                    "description": "true: only read and check the file, store nothing; answers the counts "
                    "and the first row errors, with their rows' text.",
                    "schema": {"type": "boolean", "default": False},
                },
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {"file": {"type": "string", "format": "binary"}},
                        }
                    },
                },
            },
        },
    )
    async def upload(
        id: IdPath,
        request: Request,
        area: AreaDep,
        runtime: RuntimeDep,
        name: Annotated[str | None, Query(include_in_schema=False)] = None,
        processor_type: Annotated[str | None, Query(alias="processorType", include_in_schema=False)] = None,
        dry_run: Annotated[str | None, Query(alias="dryRun", include_in_schema=False)] = None,
    ) -> Response:
        from headwater.ingest import dry_runs, uploads  # the import pipeline: only uploads need it

        requested = (
            None
            if processor_type in (None, "")
            else processor_types.processor_type(processor_type, "processorType")
        )
        checking = _flag("dryRun", dry_run)
        receive = functools.partial(
            dry_runs.dry_run if checking else uploads.import_upload, runtime, area.tenant_id
        )
        async with runtime.db.session() as session:
            await resources.get_row(session, area.tenant_id, DATA_SOURCES, id)
        content_type = request.headers.get("content-type", "").lower()
        if content_type.startswith("multipart/form-data"):
            try:
                form = await request.form(max_files=1, max_fields=10)
            except StarletteHTTPException as exc:  # how Starlette reports a malformed multipart body
                raise InvalidUpload(f"the multipart body cannot be read: {exc.detail}") from exc
            try:
                part = form.get("file")
                if not isinstance(part, UploadFile):
                    raise MissingFile("a multipart upload needs a part named file")
                row = await receive(
                    source_id=id,
                    name=part.filename or name or "upload",
                    processor_type=requested,
                    data=part.file,
                )
            finally:
                await form.close()
        else:
            if not name:
                raise MissingName("the name query parameter names the uploaded file")
            uploads.upload_name(name)  # refused before the body is read
            with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, dir=str(runtime.scratch)) as spool:
                async for chunk in request.stream():
                    await anyio.to_thread.run_sync(spool.write, chunk)
                spool.seek(0)
                row = await receive(
                    source_id=id, name=name, processor_type=requested, data=cast(BinaryIO, spool)
                )
        if checking:
            return _json(_dry_run_json(id, row))
        return _json(resources.show(IMPORT_FILES, row))


def _csv_answers() -> dict[int | str, dict[str, Any]]:
    """The CSV, or this dialect's message (as JSON) when there is none to give."""
    answers = doc.answers(doc.ref("Message"), "The CSV")
    answers[200]["content"]["text/csv"] = {"schema": {"type": "string"}}
    return answers


def _add_rejected_rows_route(router: APIRouter) -> None:
    @router.get(
        "/importFiles/{id}/importErrors.csv",
        summary="The file's rejected rows as a CSV in its own layout, with line, code and message",
        operation_id="get_importFiles_importErrors_csv",
        response_class=StreamingResponse,
        responses=_csv_answers(),
    )
    async def rejected_rows(id: IdPath, area: AreaDep, runtime: RuntimeDep) -> Response:
        from headwater.ingest.rejected_rows import rejected_rows_csv  # reads with the processors' CSV helpers

        found = await rejected_rows_csv(runtime, area.tenant_id, id)
        return StreamingResponse(
            found.chunks(runtime),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
        )


def _add_control_routes(router: APIRouter) -> None:
    """Test a connection, reset a pinned SFTP host key, import files again."""
    check_answer = doc.answers(doc.CONNECTION_TEST_SCHEMA, "The outcome of the test (ok or the failure)")

    async def pull_source(area: oauth.Area, runtime: Runtime, source_id: int, doing: str) -> None:
        async with runtime.db.session() as session:
            found = await resources.get_row(session, area.tenant_id, DATA_SOURCES, source_id)
            if found.system == CUSTOM_SYSTEM:
                raise NotPullSource(f"an upload-only source has no server to {doing}")

    @router.post(
        "/dataSources/test",
        summary="Test a pull source's fields before creating it (validated as a create body, stored nowhere)",
        operation_id="test_unsaved_dataSources",
        responses=check_answer,
        openapi_extra=doc.body_schema(doc.data_source_body()),
    )
    async def test_unsaved(request: Request, area: AreaDep, runtime: RuntimeDep) -> Response:
        body = bodies.json_object(await request.body())
        check = await connection_checks.check_unsaved(runtime, area.tenant_id, body)
        return _json(_without_nulls(check.shown(iso_millis)))

    @router.post(
        "/dataSources/{id}/test",
        summary="Test a pull source's connection and list what a run would import, importing nothing",
        operation_id="test_dataSources",
        responses=check_answer,
    )
    async def test(id: IdPath, area: AreaDep, runtime: RuntimeDep) -> Response:
        await pull_source(area, runtime, id, "test")
        check = await connection_checks.check_source(runtime, area.tenant_id, id)
        return _json(_without_nulls(check.shown(iso_millis)))

    @router.post(
        "/dataSources/{id}/hostKey/reset",
        summary="Forget the pinned SFTP host key: the next run pins the key the server presents",
        operation_id="reset_dataSources_hostKey",
        responses=doc.answers(doc.ref(doc.schema_name(DATA_SOURCES)), "The data source, nothing pinned"),
    )
    async def reset_host_key(id: IdPath, area: AreaDep, runtime: RuntimeDep) -> Response:
        async with runtime.db.session() as session:
            source, _forgotten = await host_keys.reset_host_key(session, area.tenant_id, id)
            return _json(resources.show(DATA_SOURCES, source))

    def reimported(source_id: int, marked: int, run: reimports.RunRequest) -> Response:
        return _json({"dataSourceId": source_id, "filesMarked": marked, "run": run.value})

    @router.post(
        "/dataSources/{id}/reimport",
        summary="Import every file of a pull source again, replacing their rows, at a run requested now",
        operation_id="reimport_dataSources",
        responses=doc.answers(doc.REIMPORT_SCHEMA, "The files are marked; the run is requested"),
    )
    async def reimport_source(id: IdPath, area: AreaDep, runtime: RuntimeDep) -> Response:
        await pull_source(area, runtime, id, "fetch files from again")
        async with runtime.db.session() as session:
            marked = await reimports.request_source_reimport(session, area.tenant_id, id)
        return reimported(id, marked, await reimports.run_marked(runtime, area.tenant_id, id, "api"))

    @router.post(
        "/importFiles/{id}/reimport",
        summary="Import a pulled file again, replacing its rows, at a run requested now",
        operation_id="reimport_importFiles",
        responses=doc.answers(doc.REIMPORT_SCHEMA, "The file is marked; the run is requested"),
    )
    async def reimport_file(id: IdPath, area: AreaDep, runtime: RuntimeDep) -> Response:
        async with runtime.db.session() as session:
            row = await reimports.request_file_reimport(session, area.tenant_id, id)
            source_id = row.data_source_id
        run = await reimports.run_marked(runtime, area.tenant_id, source_id, "api")
        return reimported(source_id, 1, run)


class InvalidFlag(HeadwaterError):
    code = "invalid_request"


def _flag(parameter: str, raw: str | None) -> bool:
    if raw is None or raw.lower() in ("", "false", "0"):
        return False
    if raw.lower() in ("true", "1"):
        return True
    raise InvalidFlag(f"{parameter} must be true or false")


def _dry_run_json(source_id: int, checked: Any) -> dict[str, Any]:
    """What importing the file would give; nothing was stored. Null fields are left out."""
    errors = [_without_nulls(row_error_json(error)) for error in checked.errors]
    shown = {
        "dryRun": True,
        "dataSourceId": source_id,
        "name": checked.name,
        "processorType": checked.processor_type,
        "fileType": checked.file_type,
        "state": checked.state,
        "rows": checked.rows,
        "rowsOk": checked.rows_ok,
        "rowsWithErrors": checked.rows_with_errors,
        "error": checked.error,
        "importErrors": errors,
    }
    return _without_nulls(shown)


def _without_nulls(shown: dict[str, Any]) -> dict[str, Any]:
    """This dialect leaves null fields out, in nested objects too."""
    return {
        key: [_without_nulls(item) for item in value] if key == "files" else value
        for key, value in shown.items()
        if value is not None
    }


def create_app(settings: Settings) -> FastAPI:
    """The ``/prod`` sub-application; the lifespan of the whole app sets ``state.runtime``."""
    app = FastAPI(
        title="headwater integration API",
        version=__version__,
        description=(
            "Thetis IMS conventions: get a token at POST /oauth2/token (client credentials), then send "
            "`Authorization: Bearer <token>` and `x-api-key` on every request. Application errors answer "
            "HTTP 200 with a message; fields whose value is null are left out."
        ),
        servers=[{"url": settings.integration_prefix}],
        docs_url=None,
        redoc_url=None,
    )
    docs.add_docs_page(
        app, openapi_url=f"{settings.integration_prefix}/openapi.json", title="headwater integration API"
    )
    # The dialect's routes go on the application's own router: FastAPI matches the routes of an included
    # router twice per request (once to choose the router, once to choose the route).
    router = app.router
    router.route_class = IntegrationRoute
    _add_data_source_routes(router)
    _add_rejected_rows_route(router)
    _add_control_routes(router)
    from headwater.api.integration_webhooks import add_webhook_routes

    add_webhook_routes(router, AreaDep, MAX_ID)
    for resource in resources.RESOURCES.values():
        _add_reading_routes(router, resource)
    router.routes.insert(0, RouteIndex(router.routes))
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.openapi = docs.openapi_builder(app, doc.add_schemas_and_security)  # type: ignore[method-assign]
    return app


__all__ = ["create_app", "oauth_router"]
