"""Property: whatever a client sends to the partner API, the answer is never a server error."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater.api.partner import DATASOURCE_BODY
from tests.conftest import AppClient, runtime_of
from tests.integration.partner_support import SEED_REQUEST, Caller, login, provision

FIELDS = [*DATASOURCE_BODY["properties"], "unknownField"]
PLAUSIBLE = [
    "",
    " ",
    "********",
    "FTP",
    "SFTP",
    "S3",
    "PASSWORD",
    "CERTIFICATE",
    "PARTY",
    "MOVE",
    "test",
    "25012",
    "../..",
    "http://[",
    "\u0000",
    "\ud800",
    "²",
    "9" * 5000,
    "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(PLAUSIBLE),
    st.sampled_from([25000, 25004, 25006, 25011, 25012, 0, 65536, -1, 2**63]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
field_changes = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6)
# Mostly near-valid bodies, so that many requests get past validation and reach the store.
bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), scalars, max_size=2).map(
        lambda changes: {**SEED_REQUEST, **changes}
    ),
    st.dictionaries(st.sampled_from(FIELDS), scalars, max_size=2).map(
        lambda changes: {**SEED_REQUEST, **changes}
    ),
    field_changes.map(lambda changes: {**SEED_REQUEST, **changes}),
    field_changes,
    json_values,
)
ids = st.one_of(
    st.integers(min_value=1, max_value=8).map(str),
    st.integers(min_value=1, max_value=8).map(str),
    st.integers(min_value=-5, max_value=50).map(str),
    st.integers().map(str),
    st.text(alphabet="0123456789abcxyz-._~%", min_size=1, max_size=30),
)
raw_bodies = st.one_of(st.binary(max_size=60), st.sampled_from([b"", b"{", b"[]", b'{"host": 1e999}']))
content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/problem+json",
        ";;",
    ]
)
requests = st.tuples(
    st.sampled_from(["POST", "POST", "PUT", "PUT", "GET", "DELETE", "POST login", "GET me", "PATCH"]),
    ids,
    st.one_of(
        bodies.map(lambda body: json.dumps(body).encode()),
        bodies.map(lambda body: json.dumps(body).encode()),
        raw_bodies,
    ),
    content_types,
)


FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _assert_answered(response: httpx.Response) -> None:
    request = response.request
    assert response.status_code < 500, (request.method, request.url, request.content, response.text)
    if response.status_code >= 400 and response.status_code != 405:
        assert response.text.startswith('{"errors": {'), response.text


@FUZZ
@given(created=bodies, replaced=bodies)
async def test_no_datasource_body_makes_the_partner_api_fail(
    app_client: AppClient, created: Any, replaced: Any
) -> None:
    app, client = app_client
    caller = await _logged_in_caller(app, client)
    headers = {**caller.touchpoint_headers, "Content-Type": "application/json"}
    answer = await client.post("/api/v4/partner/datasources", headers=headers, content=json.dumps(created))
    _assert_answered(answer)
    source_id = answer.json()["datasource"]["id"] if answer.status_code == 201 else app.state.fuzz_source_id
    url = f"/api/v4/partner/datasources/{source_id}"
    _assert_answered(await client.put(url, headers=headers, content=json.dumps(replaced)))
    _assert_answered(await client.get(url, headers=headers))


@FUZZ
@given(request=requests)
async def test_no_request_makes_the_partner_api_fail(app_client: AppClient, request: tuple[Any, ...]) -> None:
    app, client = app_client
    caller = await _logged_in_caller(app, client)
    verb, source_id, content, content_type = request
    headers = dict(caller.touchpoint_headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    if verb == "POST login":
        method, path = "POST", "/api/v4/login"
    elif verb == "GET me":
        method, path = "GET", "/api/v4/me"
    elif verb == "POST":
        method, path = "POST", "/api/v4/partner/datasources"
    else:
        method, path = verb, f"/api/v4/partner/datasources/{source_id}"
    _assert_answered(await client.request(method, path, headers=headers, content=content))


async def _logged_in_caller(app: FastAPI, client: httpx.AsyncClient) -> Caller:
    """One tenant and session per app, made on the first example."""
    caller: Caller | None = getattr(app.state, "fuzz_caller", None)
    if caller is None:
        caller = app.state.fuzz_caller = await provision(runtime_of(app))
        await login(client, caller)
        created = await client.post(
            "/api/v4/partner/datasources", headers=caller.touchpoint_headers, json=SEED_REQUEST
        )
        app.state.fuzz_source_id = created.json()["datasource"]["id"]
    return caller
