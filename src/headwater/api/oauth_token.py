"""The integration API's token server: ``POST /oauth2/token``, OAuth2 client credentials (RFC 6749 4.4).

Mounted at the root of the whole app (not under ``/prod``); errors are RFC 6749's, not the dialect's.
"""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from headwater.access import oauth
from headwater.api import basic_auth
from headwater.api.deps import ClientAddressDep, RuntimeDep
from headwater.errors import RateLimited, RequestTooLarge, StoreBusy, TooManyFailures

TOKEN_PATH = "/oauth2/token"
# A token request has three or four fields; Starlette bounds only multipart forms, and a megabyte of
# tiny url-encoded fields costs over a second of CPU to parse.
MAX_FORM_FIELDS = 20
# Token answers must not be cached (RFC 6749 5.1).
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _json(data: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status_code=status_code, media_type="application/json", headers=headers)


def _token_error(error: str, description: str, status_code: int = 400) -> Response:
    headers = dict(_NO_STORE)
    if status_code == 401:
        headers["WWW-Authenticate"] = 'Basic realm="headwater", charset="UTF-8"'
    return _json({"error": error, "error_description": description}, status_code, headers)


def too_large(exc: RequestTooLarge) -> Response:
    return _token_error("invalid_request", "the request body is too large", 413)


def _too_many(description: str, exc: RateLimited) -> Response:
    """429 in RFC 6749's error shape (the RFC names no code for it: ``too_many_requests``)."""
    response = _token_error("too_many_requests", description, 429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


class _MalformedRequest(Exception):
    pass


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    """From HTTP Basic (RFC 6749 2.3.1: form-encoded, then base64) or from the form body."""
    authorization = request.headers.get("authorization")
    in_form = "client_id" in form or "client_secret" in form
    if authorization:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            raise _MalformedRequest("only HTTP Basic client authentication is supported")
        if in_form:
            raise _MalformedRequest("the client authenticated in more than one way")
        try:
            given = basic_auth.decode(encoded)
        except basic_auth.MalformedBasic as exc:
            raise _MalformedRequest(str(exc)) from exc
        return unquote_plus(given.username), unquote_plus(given.password)
    return form.get("client_id"), form.get("client_secret")


class TokenAnswer(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int


oauth_router = APIRouter(tags=["oauth2"])


@oauth_router.post(
    TOKEN_PATH,
    summary="Get an access token (OAuth2 client credentials)",
    response_model=TokenAnswer,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials"]},
                            "client_id": {"type": "string", "description": "Instead of HTTP Basic."},
                            "client_secret": {"type": "string", "description": "Instead of HTTP Basic."},
                        },
                    }
                }
            },
        }
    },
    responses={
        400: {"description": "invalid_request or unsupported_grant_type (RFC 6749 5.2)"},
        401: {"description": "invalid_client (RFC 6749 5.2)"},
        429: {"description": "too_many_requests, with Retry-After: too many failures, or checks under way"},
    },
)
async def token(request: Request, runtime: RuntimeDep, address: ClientAddressDep) -> Response:
    try:
        content_type = request.headers.get("content-type", "").lower()
        if content_type.startswith("application/x-www-form-urlencoded"):
            if (await request.body()).count(b"&") >= MAX_FORM_FIELDS:
                raise _MalformedRequest(f"more than {MAX_FORM_FIELDS} form fields")
        async with request.form(max_files=0, max_fields=MAX_FORM_FIELDS) as received:
            form = {key: value for key, value in received.items() if isinstance(value, str)}
        grant_type = form.get("grant_type")
        if not grant_type:
            return _token_error("invalid_request", "grant_type is required")
        if grant_type != "client_credentials":
            return _token_error("unsupported_grant_type", "only client_credentials is supported")
        client_id, secret = _client_credentials(request, form)
    except RequestTooLarge as exc:
        return too_large(exc)
    except (_MalformedRequest, StarletteHTTPException, ValueError) as exc:
        return _token_error(
            "invalid_request", str(exc) if isinstance(exc, _MalformedRequest) else "malformed form"
        )
    if not client_id:
        return _token_error("invalid_client", "client authentication is required", 401)
    try:
        issued = await oauth.issue_token(
            runtime.db,
            runtime.box,
            runtime.guard,
            client_id,
            secret,
            address=address,
            ttl_seconds=runtime.settings.token_ttl,
        )
    except oauth.InvalidClient:
        return _token_error("invalid_client", "unknown client or wrong secret", 401)
    except TooManyFailures as exc:
        return _too_many("too many failed attempts for this client or from this address", exc)
    except RateLimited as exc:
        return _too_many("too many client authentications under way", exc)
    except StoreBusy as exc:
        response = _token_error("temporarily_unavailable", "the server is busy, try again shortly", 503)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return _json(
        {
            "access_token": issued.access_token,
            "token_type": issued.token_type,
            "expires_in": issued.expires_in,
        },
        headers=_NO_STORE,
    )


__all__ = ["TOKEN_PATH", "oauth_router"]
