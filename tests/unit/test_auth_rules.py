"""Pure parts of authentication and of the partner dialect's error answers."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from headwater.access import auth
from headwater.access.credentials import plain_text
from headwater.api.partner import PartnerRoute, error_response
from headwater.bootstrap import FirstStart, instructions
from headwater.errors import Conflict, FieldProblem, NotFound, ValidationFailed


def test_the_cache_answers_what_was_put_until_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    cache: auth.VerifiedCache[str] = auth.VerifiedCache(ttl=60)
    cache["digest"] = "tenant 1"
    assert cache.get("digest") == "tenant 1"
    assert cache.get("other") is None
    now[0] += 61
    assert cache.get("digest") is None


def test_the_cache_forgets_the_oldest_entries_beyond_its_size() -> None:
    cache: auth.VerifiedCache[int] = auth.VerifiedCache(ttl=60, max_entries=2)
    for n in range(3):
        cache[str(n)] = n
    assert [cache.get(k) for k in ("0", "1", "2")] == [None, 1, 2]


def test_error_answers_repeat_a_key_in_order() -> None:
    response = error_response(
        400, [("partnerDataSource", "HostRequired"), ("partnerDataSource", "UserRequired")]
    )
    assert (
        response.body
        == b'{"errors": {"partnerDataSource": "HostRequired", "partnerDataSource": "UserRequired"}}'
    )
    assert json.loads(bytes(response.body), object_pairs_hook=list) == [
        ("errors", [("partnerDataSource", "HostRequired"), ("partnerDataSource", "UserRequired")])
    ]


def test_error_answers_escape_what_they_carry() -> None:
    response = error_response(400, [('a"b', 'c"\\d')])
    assert json.loads(bytes(response.body)) == {"errors": {'a"b': 'c"\\d'}}


def _app_raising(error: Exception) -> FastAPI:
    router = APIRouter(route_class=PartnerRoute)

    @router.get("/boom")
    async def boom() -> None:
        raise error

    app = FastAPI()
    app.include_router(router)
    return app


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (auth.InvalidTouchpoint(), 401, {"touchpoint": "InvalidToken"}),
        (auth.NotLoggedIn(), 401, {"party": "NotLoggedIn"}),
        (auth.InvalidCredentials(), 401, {"credential": "InvalidCredentials"}),
        (auth.AlreadyLoggedIn(), 400, {"party": "PartyAlreadyLoggedin"}),
        (
            ValidationFailed([FieldProblem("host", "HostRequired")]),
            400,
            {"partnerDataSource": "HostRequired"},
        ),
        (Conflict("name", "taken"), 400, {"partnerDataSource": "NameAlreadyTaken"}),
        (NotFound("DataSource", 3), 404, {"partnerDataSource": "NotFound"}),
        (NotFound("ImportFile", 3), 404, {"importFile": "NotFound"}),
    ],
)
async def test_the_route_class_answers_each_error_in_the_dialects_shape(
    error: Exception, status: int, body: dict[str, str]
) -> None:
    transport = httpx.ASGITransport(app=_app_raising(error))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/boom")
    assert response.status_code == status
    assert response.json() == {"errors": body}


@pytest.mark.parametrize(
    ("text", "plain"),
    [("partner@acme", True), ("Zoë", True), ("a\u0000b", False), ("tab\there", False), ("\ud800", False)],
)
def test_plain_text_refuses_control_characters_and_lone_surrogates(text: str, plain: bool) -> None:
    assert plain_text(text) is plain


def test_first_start_instructions_show_the_credentials_and_a_working_curl() -> None:
    first = FirstStart("default", "default", "tok-123", "partner", "pw-456")
    text = instructions(first, "http://127.0.0.1:8000")
    assert "tok-123" in text and "pw-456" in text
    assert "http://127.0.0.1:8000/api/v4/login?touchpoint=default&token=tok-123" in text
    assert "/api/v4/partner/datasources?touchpoint=default&token=tok-123" in text
    assert "tok-123" not in repr(first) and "pw-456" not in repr(first)


def test_access_log_lines_do_not_show_a_token_from_the_query() -> None:
    import logging

    from headwater.cli.serve import _RedactQuerySecrets

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", "/api/v4/me?touchpoint=web&token=s3cret&x=1", "1.1", 200),
        None,
    )
    assert _RedactQuerySecrets().filter(record)
    assert "s3cret" not in record.getMessage()
    assert "touchpoint=web&token=***&x=1" in record.getMessage()
