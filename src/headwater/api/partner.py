"""The partner API: Thalamus REST JSON v4 under ``/api/v4`` (seed 000, "Create Datasource").

Every call names its touchpoint (``touchpoint``/``token`` query parameters or ``Thalamus-Touchpoint``/
``Thalamus-Token`` headers); partner endpoints also need a session cookie from ``/login`` or HTTP Basic.

More partner endpoints can live in other modules with the same authentication and error answers::

    router = APIRouter(prefix=PREFIX, route_class=PartnerRoute, tags=["partner"])

    @router.get("/partner/datasources/{source_id}/imports")
    async def imports(partner: CurrentPartnerDep, source_id: SourceIdPath, runtime: RuntimeDep): ...

Handlers open their own transaction (``async with runtime.db.session()``) rather than taking the
request-scoped ``SessionDep``: the route class turns errors into answers, so only a transaction inside
the handler sees the exception and rolls back, and it commits before the answer is sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security.http import HTTPAuthorizationCredentials
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from headwater import source_fields
from headwater.access import auth
from headwater.api import basic_auth, bodies
from headwater.api.deps import ClientAddressDep, RuntimeDep
from headwater.api.error_tables import Answer, ErrorTable
from headwater.api.responses import JsonBytesResponse
from headwater.api.schemas import pull_source_body
from headwater.clock import epoch_millis
from headwater.errors import (
    AuthenticationFailed,
    ConfigurationError,
    Conflict,
    HeadwaterError,
    InvalidJson,
    NotFound,
    PermissionDenied,
    RateLimited,
    RequestTooLarge,
    SourceError,
    StoreBusy,
    TooManyFailures,
    ValidationFailed,
)
from headwater.ingest.connectors.hosts import HostPolicy
from headwater.logging import get_logger
from headwater.sources import create_pull_source, describe, update_pull_source
from headwater.store import sources as source_store
from headwater.store.tables import DataSource

PREFIX = "/api/v4"
SESSION_COOKIE = "thalamus_session"
MAX_ID = 2**63 - 1

log = get_logger(__name__)


# --- the dialect's error answers, all made here -------------------------------------------------


class UnsupportedMediaType(HeadwaterError):
    code = "UnsupportedMediaType"


def error_response(status_code: int, members: Iterable[tuple[str, str]], **headers: str) -> Response:
    """``{"errors": {...}}`` with one member per error, in order; a key repeats when it must.

    The contract repeats ``partnerDataSource`` for several problems, which no dict can hold, so the
    object is written member by member.
    """
    inner = ", ".join(f"{json.dumps(key)}: {json.dumps(value)}" for key, value in members)
    return Response(
        content="{" + f'"errors": {{{inner}}}' + "}",
        status_code=status_code,
        media_type="application/json",
        headers=headers or None,
    )


def too_large(exc: RequestTooLarge) -> Response:
    return error_response(413, [("request", "RequestTooLarge")])


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def answer(exc: Exception) -> Response:
    """This dialect's answer to ``exc`` (other partner modules reuse it); re-raises what it does not know."""
    return _answer(exc)


def _retry_after(exc: RateLimited | StoreBusy) -> dict[str, str]:
    return {"Retry-After": str(exc.retry_after)}


def _not_found(exc: NotFound) -> Response:
    key = "partnerDataSource" if exc.kind == "DataSource" else _lower_first(exc.kind)
    return error_response(404, [(key, "NotFound")])


def _too_many_failures(exc: TooManyFailures) -> Response:
    key = "touchpoint" if exc.credential == "touchpoint" else "credential"
    return error_response(429, [(key, "TooManyAttempts")], **_retry_after(exc))


def _configuration_error(exc: ConfigurationError) -> Response:
    log.error("partner_api_configuration_error", error=exc.message)
    return error_response(500, [("server", exc.code)])


def _invalid_request(exc: RequestValidationError) -> Response:
    locations = [error.get("loc", ()) for error in exc.errors()]
    if any(loc and loc[0] == "path" for loc in locations):
        return error_response(404, [("partnerDataSource", "NotFound")])
    return error_response(400, [("request", "InvalidRequest")])


# Each error's answer; the entry of the nearest class along the error's MRO applies.
ERRORS: ErrorTable[Answer] = ErrorTable(
    {
        auth.InvalidTouchpoint: lambda exc: error_response(401, [("touchpoint", "InvalidToken")]),
        auth.NotLoggedIn: lambda exc: error_response(401, [("party", "NotLoggedIn")]),
        AuthenticationFailed: lambda exc: error_response(401, [("credential", "InvalidCredentials")]),
        auth.AlreadyLoggedIn: lambda exc: error_response(400, [("party", "PartyAlreadyLoggedin")]),
        ValidationFailed: lambda exc: error_response(
            400, [("partnerDataSource", p.code) for p in exc.problems]
        ),
        Conflict: lambda exc: error_response(
            400, [("partnerDataSource", f"{exc.field[:1].upper()}{exc.field[1:]}AlreadyTaken")]
        ),
        NotFound: _not_found,
        InvalidJson: lambda exc: error_response(400, [("request", "InvalidJson")]),
        RequestTooLarge: too_large,
        UnsupportedMediaType: lambda exc: error_response(415, [("request", "UnsupportedMediaType")]),
        PermissionDenied: lambda exc: error_response(403, [("party", "PermissionDenied")]),
        TooManyFailures: _too_many_failures,
        RateLimited: lambda exc: error_response(429, [("request", "TooManyRequests")], **_retry_after(exc)),
        StoreBusy: lambda exc: error_response(503, [("server", "Busy")], **_retry_after(exc)),
        SourceError: lambda exc: error_response(502, [("partnerDataSource", exc.code)]),
        ConfigurationError: _configuration_error,
        HeadwaterError: lambda exc: error_response(400, [("request", exc.code)]),
        RequestValidationError: _invalid_request,
        StarletteHTTPException: lambda exc: error_response(exc.status_code, [("request", "InvalidRequest")]),
    }
)


def _answer(exc: Exception) -> Response:
    response = ERRORS.answer(exc)
    if response is None:
        raise exc
    return response


class PartnerRoute(APIRoute):
    """Route class of the partner dialect: every headwater error becomes a Thalamus error answer."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.responses = dict(self.responses)
        # Documents the real error shape (and keeps FastAPI from describing a 422 it never sends).
        self.responses.setdefault(
            "4XX",
            {
                "description": "Errors: one member per problem, a key repeats for several problems",
                "content": {"application/json": {"example": {"errors": {"request": "InvalidJson"}}}},
            },
        )

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answered(request: Request) -> Response:
            try:
                return await handler(request)
            except (HeadwaterError, RequestValidationError, StarletteHTTPException) as exc:
                return _answer(exc)

        return answered


# --- authentication -----------------------------------------------------------------------------


async def current_touchpoint(
    runtime: RuntimeDep,
    address: ClientAddressDep,
    touchpoint: Annotated[
        str | None, Query(description="Touchpoint code (or the Thalamus-Touchpoint header).")
    ] = None,
    token: Annotated[
        str | None, Query(description="Touchpoint token (or the Thalamus-Token header).")
    ] = None,
    thalamus_touchpoint: Annotated[str | None, Header(alias="Thalamus-Touchpoint")] = None,
    thalamus_token: Annotated[str | None, Header(alias="Thalamus-Token")] = None,
) -> auth.TouchpointContext:
    code = thalamus_touchpoint if thalamus_touchpoint is not None else touchpoint
    secret = thalamus_token if thalamus_token is not None else token
    return await auth.authenticate_touchpoint(
        runtime.db,
        runtime.box,
        runtime.guard,
        code,
        secret,
        address=address,
        cache=runtime.auth_cache.touchpoints,
    )


TouchpointDep = Annotated[auth.TouchpointContext, Depends(current_touchpoint)]
SessionCookie = Annotated[str | None, Cookie(alias=SESSION_COOKIE, include_in_schema=False)]
_basic_scheme = basic_auth.basic_scheme(
    "partnerBasic", "The partner's principal and password, instead of a session cookie."
)


async def current_partner(
    touchpoint: TouchpointDep,
    runtime: RuntimeDep,
    address: ClientAddressDep,
    session_token: SessionCookie = None,
    basic: Annotated[HTTPAuthorizationCredentials | None, Depends(_basic_scheme)] = None,
) -> auth.PartnerContext:
    """The partner of the session cookie or, failing that, of the HTTP Basic credentials."""
    if session_token is not None:
        try:
            async with runtime.db.session() as session:
                return await auth.partner_from_session(
                    session, runtime.box, touchpoint.tenant_id, session_token
                )
        except auth.NotLoggedIn:
            if not basic_auth.says_basic(basic):
                raise
    try:
        given = basic_auth.credentials_of(basic)
    except basic_auth.MalformedBasic as exc:
        raise auth.InvalidCredentials(str(exc)) from exc
    if given is not None:
        return await auth.partner_from_basic(
            runtime.db,
            runtime.box,
            runtime.guard,
            touchpoint.tenant_id,
            given.username,
            given.password,
            address=address,
            cache=runtime.auth_cache.partners,
        )
    raise auth.NotLoggedIn("no partner is logged in")


CurrentPartnerDep = Annotated[auth.PartnerContext, Depends(current_partner)]
SourceIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The data source's id.")]


# --- request bodies -----------------------------------------------------------------------------


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object: ``UnsupportedMediaType`` if it is not JSON, ``InvalidJson`` if malformed."""
    content_type = request.headers.get("content-type")
    if content_type is not None and not _is_json(content_type):
        raise UnsupportedMediaType("the body must be application/json")
    return bodies.json_object(await request.body())


JsonObjectDep = Annotated[dict[str, Any], Depends(json_object)]


class LoginBody(BaseModel):
    principal: str
    password: str


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# The datasource fields (documentation only: the core validates, unknown fields are ignored).
DATASOURCE_BODY = pull_source_body("DatasourceBody")


def _errors_example(description: str, **members: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"example": {"errors": members}}}}


_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _errors_example("Touchpoint or partner not authenticated", touchpoint="InvalidToken"),
    429: _errors_example("Too many failed sign-ins, see Retry-After", touchpoint="TooManyAttempts"),
}
_BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _errors_example("Invalid fields, one member per problem", partnerDataSource="HostRequired"),
    415: _errors_example("The body is not JSON", request="UnsupportedMediaType"),
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: _errors_example("No datasource of this partner has this id", partnerDataSource="NotFound"),
}


# --- the answers' shapes ------------------------------------------------------------------------

# The answer's fields: the contract's in its answer's order, then headwater's (the OpenAPI document's too).
DATASOURCE_FIELDS = tuple(f.name for f in source_fields.PARTNER_FIELDS)


def datasource_json(source: DataSource) -> dict[str, Any]:
    """The seed's datasource object (secrets masked, times in epoch ms), then headwater's extras."""
    described = describe(source)
    described["lastRunningTime"] = epoch_millis(source.last_running_time)
    described["nextRunTime"] = epoch_millis(described["nextRunTime"])
    if described["lastError"] is not None:
        described["lastError"] = {**described["lastError"], "at": epoch_millis(described["lastError"]["at"])}
    return {key: described[key] for key in DATASOURCE_FIELDS}


def context_json(request: Request, partner: auth.PartnerContext | None) -> dict[str, Any]:
    """The seed's ``context``: links, activities and the caller's profile."""
    home = str(request.base_url).rstrip("/") + PREFIX + "/me"
    if partner is None:
        profile: dict[str, Any] = {
            "firstname": None,
            "lastname": None,
            "email": None,
            "shortName": None,
            "longName": None,
            "me": False,
            "urlAvatar": "",
        }
    else:
        full_name = " ".join(n for n in (partner.first_name, partner.last_name) if n)
        profile = {
            "firstname": partner.first_name,
            "lastname": partner.last_name,
            "email": partner.email,
            "shortName": partner.first_name or partner.principal,
            "longName": full_name or partner.principal,
            "me": True,
            "urlAvatar": "",
        }
    return {"links": [{"ref": "home", "href": home}], "activities": [], "simpleProfile": profile}


# --- endpoints ----------------------------------------------------------------------------------

router = APIRouter(prefix=PREFIX, route_class=PartnerRoute, tags=["partner"])


@router.post(
    "/login",
    summary="Log a partner in",
    openapi_extra=_json_body(LoginBody.model_json_schema()),
    responses={
        400: _errors_example("Already logged in", party="PartyAlreadyLoggedin"),
        401: _errors_example("Wrong principal or password", credential="InvalidCredentials"),
        429: _errors_example("Too many failed logins, see Retry-After", credential="TooManyAttempts"),
    },
)
async def login(
    request: Request,
    touchpoint: TouchpointDep,
    runtime: RuntimeDep,
    body: JsonObjectDep,
    address: ClientAddressDep,
    session_token: SessionCookie = None,
) -> Response:
    """Check the principal and password and answer the partner's context with a session cookie."""
    principal, password = body.get("principal"), body.get("password")
    if not isinstance(principal, str) or not isinstance(password, str):
        raise auth.InvalidCredentials("principal and password are required")
    opened = await auth.login_partner(
        runtime.db,
        runtime.box,
        runtime.guard,
        touchpoint.tenant_id,
        principal,
        password,
        address=address,
        ttl_seconds=runtime.settings.session_ttl,
        current_token=session_token,
    )
    response = JSONResponse({"context": context_json(request, opened.partner)})
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        max_age=runtime.settings.session_ttl,
        path=PREFIX,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/logout", status_code=204, summary="End the partner's session", responses=_AUTH_ERRORS)
async def logout(
    touchpoint: TouchpointDep, runtime: RuntimeDep, session_token: SessionCookie = None
) -> Response:
    async with runtime.db.session() as session:
        await auth.logout(session, runtime.box, touchpoint.tenant_id, session_token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, httponly=True, samesite="lax")
    return response


@router.get("/me", summary="The logged-in partner's context", responses=_AUTH_ERRORS)
async def me(request: Request, partner: CurrentPartnerDep) -> dict[str, Any]:
    return {"context": context_json(request, partner)}


@router.get(
    "/partner/datasources",
    summary="The partner's datasources",
    responses=_AUTH_ERRORS,
    response_model=dict[str, Any],
)
async def list_datasources(request: Request, partner: CurrentPartnerDep, runtime: RuntimeDep) -> Response:
    async with runtime.db.session() as session:
        found = await source_store.list_(session, partner.tenant_id, owner_partner_id=partner.partner_id)
        shown = [datasource_json(source) for source in found]
    # Plain JSON values already: written as bytes, not walked again by FastAPI's encoder.
    return JsonBytesResponse({"context": context_json(request, partner), "datasources": shown})


@router.post(
    "/partner/datasources",
    status_code=201,
    summary="Create Datasource",
    openapi_extra=_json_body(DATASOURCE_BODY),
    responses={**_AUTH_ERRORS, **_BODY_ERRORS},
)
async def create_datasource(
    request: Request, partner: CurrentPartnerDep, body: JsonObjectDep, runtime: RuntimeDep
) -> JSONResponse:
    async with runtime.db.session() as session:
        source = await create_pull_source(
            session,
            partner.tenant_id,
            body,
            runtime.box,
            owner_partner_id=partner.partner_id,
            hosts=HostPolicy.from_settings(runtime.settings),
        )
        shown = datasource_json(source)
    return JSONResponse({"context": context_json(request, partner), "datasource": shown}, status_code=201)


@router.get(
    "/partner/datasources/{source_id}",
    summary="One of the partner's datasources",
    responses={**_AUTH_ERRORS, **_NOT_FOUND},
)
async def get_datasource(
    request: Request, partner: CurrentPartnerDep, source_id: SourceIdPath, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.session() as session:
        source = await source_store.get(
            session, partner.tenant_id, source_id, owner_partner_id=partner.partner_id
        )
        shown = datasource_json(source)
    return {"context": context_json(request, partner), "datasource": shown}


@router.put(
    "/partner/datasources/{source_id}",
    summary="Replace a datasource's settings",
    openapi_extra=_json_body(DATASOURCE_BODY),
    responses={**_AUTH_ERRORS, **_BODY_ERRORS, **_NOT_FOUND},
)
async def update_datasource(
    request: Request,
    partner: CurrentPartnerDep,
    source_id: SourceIdPath,
    body: JsonObjectDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    async with runtime.db.session() as session:
        source = await source_store.get(
            session, partner.tenant_id, source_id, owner_partner_id=partner.partner_id
        )
        source = await update_pull_source(
            session,
            partner.tenant_id,
            source,
            body,
            runtime.box,
            hosts=HostPolicy.from_settings(runtime.settings),
        )
        shown = datasource_json(source)
    return {"context": context_json(request, partner), "datasource": shown}


@router.delete(
    "/partner/datasources/{source_id}",
    status_code=204,
    summary="Delete a datasource",
    responses={**_AUTH_ERRORS, **_NOT_FOUND},
)
async def delete_datasource(
    partner: CurrentPartnerDep, source_id: SourceIdPath, runtime: RuntimeDep
) -> Response:
    async with runtime.db.session() as session:
        source = await source_store.get(
            session, partner.tenant_id, source_id, owner_partner_id=partner.partner_id
        )
        await source_store.delete(session, source)
    return Response(status_code=204)


# Included after every other /api/v4 router: a path the dialect does not have still answers in its style.
fallback_router = APIRouter(prefix=PREFIX, route_class=PartnerRoute, include_in_schema=False)


@fallback_router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def unknown_path(path: str) -> Response:
    return error_response(404, [("request", "NotFound")])


__all__ = [
    "DATASOURCE_BODY",
    "DATASOURCE_FIELDS",
    "ERRORS",
    "MAX_ID",
    "PREFIX",
    "SESSION_COOKIE",
    "CurrentPartnerDep",
    "JsonObjectDep",
    "PartnerRoute",
    "SourceIdPath",
    "TouchpointDep",
    "answer",
    "context_json",
    "datasource_json",
    "error_response",
    "fallback_router",
    "router",
]
