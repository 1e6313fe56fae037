"""Who may call the partner API: touchpoints, sessions, HTTP Basic, and the walls between tenants."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from headwater.clock import utcnow
from headwater.store.tables import PartnerSession
from tests.conftest import AppClient, runtime_of
from tests.integration.partner_support import (
    SEED_REQUEST,
    Caller,
    add_partner,
    error_members,
    login,
    provision,
)

DATASOURCES = "/api/v4/partner/datasources"


async def test_the_touchpoint_may_come_as_headers_or_as_query_parameters(
    app_client: AppClient, caller: Caller
) -> None:
    _, client = app_client
    by_header = await client.get(DATASOURCES, headers=caller.touchpoint_headers, auth=caller.basic)
    by_query = await client.get(DATASOURCES, params=caller.touchpoint_query, auth=caller.basic)
    assert (by_header.status_code, by_query.status_code) == (200, 200)
    login_by_query = await client.post(
        "/api/v4/login",
        params=caller.touchpoint_query,
        json={"principal": caller.principal, "password": caller.password},
    )
    assert login_by_query.status_code == 200


@pytest.mark.parametrize(
    "touchpoint",
    [
        {},
        {"Thalamus-Touchpoint": "test"},
        {"Thalamus-Token": "whatever"},
        {"Thalamus-Touchpoint": "test", "Thalamus-Token": "wrong"},
        {"Thalamus-Touchpoint": "other", "Thalamus-Token": "<right token>"},
    ],
)
async def test_a_missing_or_wrong_touchpoint_is_an_invalid_token(
    app_client: AppClient, caller: Caller, touchpoint: dict[str, str]
) -> None:
    _, client = app_client
    headers = {k: caller.token if v == "<right token>" else v for k, v in touchpoint.items()}
    for method, path in (("POST", "/api/v4/login"), ("GET", "/api/v4/me"), ("GET", DATASOURCES)):
        response = await client.request(
            method,
            path,
            headers=headers,
            auth=caller.basic,
            json={"principal": caller.principal, "password": caller.password},
        )
        assert response.status_code == 401, path
        assert error_members(response) == [("touchpoint", "InvalidToken")]


async def test_login_answers_the_partners_context_and_a_session_cookie(
    app_client: AppClient, caller: Caller
) -> None:
    _, client = app_client
    response = await login(client, caller)
    profile = response.json()["context"]["simpleProfile"]
    assert profile["me"] is True
    assert (profile["firstname"], profile["lastname"], profile["longName"]) == (
        "Ada",
        "Lovelace",
        "Ada Lovelace",
    )
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Max-Age=" in cookie
    me = await client.get("/api/v4/me", headers=caller.touchpoint_headers)
    assert me.status_code == 200
    assert me.json()["context"] == response.json()["context"]


async def test_wrong_credentials_are_refused(app_client: AppClient, caller: Caller) -> None:
    _, client = app_client
    for body in (
        {"principal": caller.principal, "password": "not the password"},
        {"principal": "nobody@acme.example", "password": caller.password},
        {"principal": caller.principal},
        {"principal": 7, "password": ["x"]},
    ):
        response = await client.post("/api/v4/login", headers=caller.touchpoint_headers, json=body)
        assert response.status_code == 401
        assert error_members(response) == [("credential", "InvalidCredentials")]
        assert "set-cookie" not in response.headers


async def test_logging_in_twice_is_refused(app_client: AppClient, caller: Caller) -> None:
    _, client = app_client
    await login(client, caller)
    again = await client.post(
        "/api/v4/login",
        headers=caller.touchpoint_headers,
        json={"principal": caller.principal, "password": caller.password},
    )
    assert again.status_code == 400
    assert error_members(again) == [("party", "PartyAlreadyLoggedin")]


async def test_without_a_session_or_basic_credentials_the_partner_is_not_logged_in(
    app_client: AppClient, caller: Caller
) -> None:
    _, client = app_client
    for method, path in (
        ("GET", "/api/v4/me"),
        ("GET", DATASOURCES),
        ("POST", DATASOURCES),
        ("GET", "/api/v4/logout"),
    ):
        response = await client.request(method, path, headers=caller.touchpoint_headers, json=SEED_REQUEST)
        assert response.status_code == 401, path
        assert error_members(response) == [("party", "NotLoggedIn")]
    forged = await client.get(
        "/api/v4/me",
        headers={**caller.touchpoint_headers, "Cookie": "thalamus_session=forged"},
    )
    assert error_members(forged) == [("party", "NotLoggedIn")]


async def test_http_basic_works_without_a_session(app_client: AppClient, caller: Caller) -> None:
    _, client = app_client
    created = await client.post(
        DATASOURCES, headers=caller.touchpoint_headers, auth=caller.basic, json=SEED_REQUEST
    )
    assert created.status_code == 201, created.text
    assert "set-cookie" not in created.headers
    listed = await client.get(DATASOURCES, headers=caller.touchpoint_headers, auth=caller.basic)
    assert [d["id"] for d in listed.json()["datasources"]] == [created.json()["datasource"]["id"]]


async def test_session_and_basic_see_the_same_datasources(app_client: AppClient, caller: Caller) -> None:
    _, client = app_client
    await client.post(DATASOURCES, headers=caller.touchpoint_headers, auth=caller.basic, json=SEED_REQUEST)
    by_basic = await client.get(DATASOURCES, headers=caller.touchpoint_headers, auth=caller.basic)
    await login(client, caller)
    by_session = await client.get(DATASOURCES, headers=caller.touchpoint_headers)
    assert by_session.json()["datasources"] == by_basic.json()["datasources"]


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic !!!not-base64!!!",
        "Basic bm9jb2xvbg==",
        "Basic cGFydG5lckBhY21lLmV4YW1wbGU6d3Jvbmc=",
        "Basic //79",
    ],
)
async def test_bad_basic_credentials_are_invalid_credentials(
    app_client: AppClient, caller: Caller, authorization: str
) -> None:
    _, client = app_client
    response = await client.get(
        DATASOURCES, headers={**caller.touchpoint_headers, "Authorization": authorization}
    )
    assert response.status_code == 401
    assert error_members(response) == [("credential", "InvalidCredentials")]


async def test_logout_ends_the_session(app_client: AppClient, caller: Caller) -> None:
    _, client = app_client
    await login(client, caller)
    kept_cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    out = await client.get("/api/v4/logout", headers=caller.touchpoint_headers)
    assert out.status_code == 204
    me = await client.get("/api/v4/me", headers=caller.touchpoint_headers)
    assert error_members(me) == [("party", "NotLoggedIn")]
    replayed = await client.get("/api/v4/me", headers={**caller.touchpoint_headers, "Cookie": kept_cookie})
    assert error_members(replayed) == [("party", "NotLoggedIn")]
    assert (
        await client.post(
            "/api/v4/login",
            headers=caller.touchpoint_headers,
            json={"principal": caller.principal, "password": caller.password},
        )
    ).status_code == 200


async def test_an_expired_session_is_not_logged_in(app_client: AppClient, caller: Caller) -> None:
    app, client = app_client
    await login(client, caller)
    async with runtime_of(app).db.session() as session:
        await session.execute(update(PartnerSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    me = await client.get("/api/v4/me", headers=caller.touchpoint_headers)
    assert error_members(me) == [("party", "NotLoggedIn")]


async def test_a_partner_never_reaches_another_tenants_datasources(app_client: AppClient) -> None:
    app, client = app_client
    runtime = runtime_of(app)
    alice = await provision(runtime, "tenant-a", code="test", principal="alice", password="alice's password")
    bob = await provision(runtime, "tenant-b", code="test", principal="bob", password="bob's password!")
    owned = await client.post(DATASOURCES, headers=bob.touchpoint_headers, auth=bob.basic, json=SEED_REQUEST)
    assert owned.status_code == 201
    bobs_id = owned.json()["datasource"]["id"]

    listed = await client.get(DATASOURCES, headers=alice.touchpoint_headers, auth=alice.basic)
    assert listed.json()["datasources"] == []
    for guess in range(1, bobs_id + 3):
        url = f"{DATASOURCES}/{guess}"
        for method in ("GET", "PUT", "DELETE"):
            response = await client.request(
                method,
                url,
                headers=alice.touchpoint_headers,
                auth=alice.basic,
                json={**SEED_REQUEST, "host": "stolen.example"} if method == "PUT" else None,
            )
            assert response.status_code == 404, (method, guess)

    # Alice's credentials on Bob's touchpoint are no one's.
    crossed = await client.get(DATASOURCES, headers=bob.touchpoint_headers, auth=alice.basic)
    assert error_members(crossed) == [("credential", "InvalidCredentials")]
    await login(client, alice)
    crossed_session = await client.get(DATASOURCES, headers=bob.touchpoint_headers)
    assert error_members(crossed_session) == [("party", "NotLoggedIn")]

    untouched = await client.get(f"{DATASOURCES}/{bobs_id}", headers=bob.touchpoint_headers, auth=bob.basic)
    assert untouched.status_code == 200
    assert untouched.json()["datasource"]["host"] == SEED_REQUEST["host"]


async def test_partners_of_one_tenant_see_only_their_own_datasources(
    app_client: AppClient, caller: Caller
) -> None:
    app, client = app_client
    await add_partner(runtime_of(app), caller.tenant_id, "colleague", "colleague password")
    colleague = Caller(caller.tenant_id, caller.code, caller.token, "colleague", "colleague password")
    mine = await client.post(
        DATASOURCES, headers=caller.touchpoint_headers, auth=caller.basic, json=SEED_REQUEST
    )
    theirs = await client.get(
        f"{DATASOURCES}/{mine.json()['datasource']['id']}",
        headers=colleague.touchpoint_headers,
        auth=colleague.basic,
    )
    assert theirs.status_code == 404
