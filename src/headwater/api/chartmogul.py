"""The data sources API in ChartMogul's v1 dialect, under ``/v1``.

Clients authenticate with HTTP Basic: an API key as the user name and an empty password (the key
repeated as the password is accepted too). Answers and errors take ChartMogul's shapes, so that
ChartMogul's own client libraries work unchanged; ``ChartMogulRoute`` is the one place where errors
become those shapes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from limits import RateLimitItem
from starlette.exceptions import HTTPException

from headwater import source_fields, sources
from headwater.access import apikeys
from headwater.access.guard import Attempt
from headwater.access.ratelimit import limit
from headwater.api import basic_auth, bodies
from headwater.api.deps import ClientAddressDep, RuntimeDep
from headwater.api.error_tables import Answer, ErrorTable
from headwater.api.responses import JsonBytesResponse
from headwater.clock import iso_millis
from headwater.domain import CUSTOM_SYSTEM, SourceStatus
from headwater.errors import (
    AuthenticationFailed,
    ConfigurationError,
    Conflict,
    FieldProblem,
    HeadwaterError,
    InvalidJson,
    NotFound,
    PermissionDenied,
    RateLimited,
    RequestTooLarge,
    StoreBusy,
    ValidationFailed,
)
from headwater.logging import get_logger
from headwater.metrics import RATE_LIMITED
from headwater.storable import storable
from headwater.store import sources as source_store
from headwater.store.tables import DataSource

DIALECT = "chartmogul"
MAX_NAME_LENGTH = 500
NAME_REQUIRED = "A name is required for each data source."

# ChartMogul's documented defaults; headwater has no such settings, so every source shows these.
AUTO_CHURN_SUBSCRIPTION_SETTING: Mapping[str, Any] = {"enabled": False, "interval": None}
_INVOICE_HANDLING = {
    "create_subscription_when_invoice_is": "open",
    "update_subscription_when_invoice_is": "open",
    "prevent_subscription_for_invoice_voided": True,
    "prevent_subscription_for_invoice_refunded": False,
    "prevent_subscription_for_invoice_written_off": True,
}
INVOICE_HANDLING_SETTING: Mapping[str, Any] = {
    "manual": _INVOICE_HANDLING,
    "automatic": _INVOICE_HANDLING,
}

log = get_logger(__name__)


class BadRequest(HeadwaterError):
    """Input this dialect cannot read at all: a 400 naming the parameter, when there is one."""

    code = "BadRequest"

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def _error(
    status: int, message: str, param: str | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"code": status, "message": message, "param": param}, status, headers=headers)


def _field_errors(problems: Sequence[FieldProblem]) -> JSONResponse:
    return JSONResponse({"errors": {p.field: p.message for p in problems}}, 422)


def _invalid_parameter(exc: RequestValidationError) -> JSONResponse:
    for error in exc.errors():
        location = error.get("loc", ())
        if location and isinstance(location[-1], str):
            return _error(400, f'Parameter "{location[-1]}" is invalid', location[-1])
    return _error(400, "The request is invalid")


def too_large(exc: RequestTooLarge) -> Response:
    return _error(413, f"The request body must not be larger than {exc.limit} bytes")


def _unauthorized(exc: Exception) -> JSONResponse:
    return _error(401, "No valid API key provided", headers={"WWW-Authenticate": 'Basic realm="headwater"'})


def _http_error(exc: HTTPException) -> JSONResponse:
    if exc.status_code == 401:
        return _unauthorized(exc)
    return _error(exc.status_code, str(exc.detail))


def _rate_limited(exc: RateLimited) -> JSONResponse:
    RATE_LIMITED.labels(dialect=DIALECT).inc()
    return _error(
        429, "Your request rate has exceeded our rate limit.", headers={"Retry-After": str(exc.retry_after)}
    )


def _invalid_json(exc: InvalidJson) -> JSONResponse:
    if exc.not_an_object:
        return _error(400, "The request body must be a JSON object")
    return _error(400, "The request body is not valid JSON")


def _configuration_error(exc: ConfigurationError) -> JSONResponse:
    log.error("chartmogul_configuration_error", error=exc.message)
    return _error(500, "Internal server error")


def _unexpected(exc: Exception) -> JSONResponse:
    log.error("chartmogul_request_failed", error=type(exc).__name__, exc_info=exc)
    return _error(500, "Internal server error")


# Each error's answer; the entry of the nearest class along the error's MRO applies.
ERRORS: ErrorTable[Answer] = ErrorTable(
    {
        AuthenticationFailed: _unauthorized,
        basic_auth.MalformedBasic: _unauthorized,
        RateLimited: _rate_limited,
        StoreBusy: lambda exc: _error(
            503, "The service is busy, please retry.", headers={"Retry-After": str(exc.retry_after)}
        ),
        NotFound: lambda exc: _error(
            404, "Data source not found" if exc.kind == "DataSource" else "Not found"
        ),
        Conflict: lambda exc: _field_errors([FieldProblem(exc.field, "Conflict", exc.message)]),
        ValidationFailed: lambda exc: _field_errors(exc.problems),
        RequestTooLarge: too_large,
        BadRequest: lambda exc: _error(400, exc.message, exc.param),
        InvalidJson: _invalid_json,
        RequestValidationError: _invalid_parameter,
        PermissionDenied: lambda exc: _error(403, "Forbidden"),
        ConfigurationError: _configuration_error,
        # headwater's other errors are refusals of the request, never a silent 500.
        HeadwaterError: lambda exc: _error(400, exc.message),
        HTTPException: _http_error,
        Exception: _unexpected,
    }
)


def error_response(exc: Exception) -> Response:
    """Every error of this dialect, in ChartMogul's format."""
    response = ERRORS.answer(exc)
    assert response is not None  # the table answers Exception
    return response


class ChartMogulRoute(APIRoute):
    """Turns whatever a handler or its dependencies raise into this dialect's answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as exc:
                response = error_response(exc)
            return response

        return handle


router = APIRouter(prefix="/v1", route_class=ChartMogulRoute, tags=["data sources (ChartMogul v1)"])


_basic = basic_auth.basic_scheme("HTTPBasic", "The API key as the user name and an empty password.")
AuthorizationDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_basic)]


@functools.lru_cache(maxsize=8)
def _budget(text: str) -> tuple[RateLimitItem, ...]:
    return (limit(text),)


async def authenticated_tenant(
    runtime: RuntimeDep, authorization: AuthorizationDep, address: ClientAddressDep
) -> int:
    """The caller's tenant, once its key is known and its request budget not spent.

    The key is the user name; the password is empty, or the key again. Wrong keys count against
    the client address: past its failures, the address is refused before any lookup.
    """
    key = None
    credentials = basic_auth.credentials_of(authorization)  # malformed: MalformedBasic, a 401
    if credentials is not None and credentials.password in ("", credentials.username):
        key = credentials.username
    attempt = Attempt("api_key", address)
    await runtime.guard.admit(attempt)
    try:
        async with runtime.db.reading() as session:
            tenant_id = await apikeys.authenticate(session, runtime.box, key)
    except apikeys.InvalidApiKey:
        await runtime.guard.failed(attempt)
        raise
    await runtime.limiter.check(DIALECT, str(tenant_id), _budget(runtime.settings.chartmogul_rate_limit))
    return tenant_id


TenantDep = Annotated[int, Depends(authenticated_tenant)]


@dataclass(frozen=True)
class Extras:
    """The optional parts of a data source that the caller asked for."""

    processing_status: bool = False
    auto_churn_subscription_setting: bool = False
    invoice_handling_setting: bool = False


async def requested_extras(
    with_processing_status: Annotated[bool, Query()] = False,
    with_auto_churn_subscription_setting: Annotated[bool, Query()] = False,
    with_invoice_handling_setting: Annotated[bool, Query()] = False,
) -> Extras:
    return Extras(with_processing_status, with_auto_churn_subscription_setting, with_invoice_handling_setting)


ExtrasDep = Annotated[Extras, Depends(requested_extras)]


def _status(source: DataSource) -> str:
    return str(
        source.status if source.status in (SourceStatus.IDLE, SourceStatus.WORKING) else SourceStatus.IDLE
    )


# How this dialect shows the table's fields it has (``source_fields.CHARTMOGUL_FIELDS``), by table name.
_SHOWN: Mapping[str, Callable[[DataSource], Any]] = {
    "uuid": lambda source: source.uuid,
    "name": lambda source: source.name,
    "system": lambda source: source.data_source_type or source.system or CUSTOM_SYSTEM,
    "createdAt": lambda source: iso_millis(source.created_at),
    "status": _status,
}
if set(_SHOWN) != {spec.name for _, spec in source_fields.CHARTMOGUL_FIELDS}:
    raise RuntimeError("the ChartMogul answer must show exactly the table's ChartMogul fields")
_VIEW = tuple((name, _SHOWN[spec.name]) for name, spec in source_fields.CHARTMOGUL_FIELDS)


def view(
    source: DataSource,
    extras: Extras = Extras(),
    processing_status: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """A data source as ChartMogul shows one."""
    shown: dict[str, Any] = {name: value(source) for name, value in _VIEW}
    if extras.processing_status:
        shown["processing_status"] = dict(processing_status or {"processed": 0, "failed": 0, "pending": 0})
    if extras.auto_churn_subscription_setting:
        shown["auto_churn_subscription_setting"] = dict(AUTO_CHURN_SUBSCRIPTION_SETTING)
    if extras.invoice_handling_setting:
        shown["invoice_handling_setting"] = {k: dict(v) for k, v in INVOICE_HANDLING_SETTING.items()}
    return shown


async def _json_object(request: Request) -> Mapping[str, Any]:
    body = await request.body()
    if not body.strip():
        return {}  # no fields at all: the answer then says which one is missing
    return bodies.json_object(body)


def _source_name(payload: Mapping[str, Any]) -> str:
    if "name" not in payload:
        raise BadRequest('Parameter "name" is missing', "name")
    name = payload["name"]
    if name is None or (isinstance(name, str) and not name.strip()):
        raise ValidationFailed([FieldProblem("name", "NameRequired", NAME_REQUIRED)])
    if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH or not storable(name):
        raise ValidationFailed(
            [FieldProblem("name", "InvalidName", f"Must be a text of at most {MAX_NAME_LENGTH} characters.")]
        )
    return name


_NAME_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string", "maxLength": MAX_NAME_LENGTH}},
            }
        }
    },
}


@router.get("/ping", summary="Check the API key")
async def ping(tenant_id: TenantDep) -> dict[str, str]:
    return {"data": "pong!"}


@router.post(
    "/data_sources",
    status_code=201,
    summary="Create a source (upload-only, system Custom)",
    openapi_extra={"requestBody": _NAME_BODY},
)
async def create_data_source(request: Request, runtime: RuntimeDep, tenant_id: TenantDep) -> JSONResponse:
    name = _source_name(await _json_object(request))
    async with runtime.db.session() as session:
        source = await sources.create_custom_source(session, tenant_id, name)
        shown = view(source)
    return JSONResponse(shown, status_code=201)


@router.get(
    "/data_sources",
    summary="List the sources of the account",
    response_model=dict[str, list[dict[str, Any]]],
)
async def list_data_sources(
    runtime: RuntimeDep,
    tenant_id: TenantDep,
    wanted: ExtrasDep,
    name: str | None = None,
    system: str | None = None,
) -> Response:
    if not all(storable(text) for text in (name, system) if text is not None):
        return JsonBytesResponse({"data_sources": []})
    async with runtime.db.session() as session:
        found = await source_store.list_(session, tenant_id, name=name, system=system)
        counts = (
            await source_store.processing_status(session, tenant_id, [s.id for s in found])
            if wanted.processing_status
            else {}
        )
    # Plain JSON values already: written as bytes, not walked again by FastAPI's encoder.
    return JsonBytesResponse(
        {"data_sources": [view(source, wanted, counts.get(source.id)) for source in found]}
    )


@router.get("/data_sources/{uuid}", summary="Retrieve a source")
async def retrieve_data_source(
    uuid: str, runtime: RuntimeDep, tenant_id: TenantDep, wanted: ExtrasDep
) -> dict[str, Any]:
    if not storable(uuid):
        raise NotFound("DataSource")
    async with runtime.db.session() as session:
        source = await source_store.get_by_uuid(session, tenant_id, uuid)
        counts = (
            (await source_store.processing_status(session, tenant_id, [source.id]))[source.id]
            if wanted.processing_status
            else None
        )
    return view(source, wanted, counts)


@router.delete("/data_sources/{uuid}", status_code=204, summary="Delete a source and all its data")
async def delete_data_source(uuid: str, runtime: RuntimeDep, tenant_id: TenantDep) -> Response:
    if not storable(uuid):
        raise NotFound("DataSource")
    async with runtime.db.session() as session:
        source = await source_store.get_by_uuid(session, tenant_id, uuid)
        await source_store.delete(session, source)
    return Response(status_code=204)


@router.api_route(
    "/{path:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def unknown_endpoint(path: str) -> Response:
    """Paths this dialect does not have still answer in its format."""
    raise NotFound("Endpoint")
