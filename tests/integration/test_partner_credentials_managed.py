"""Credentials the operator manages, as the live partner API sees them: on the very next request."""

from __future__ import annotations

import dataclasses

from headwater.access import credentials
from tests.conftest import AppClient, runtime_of
from tests.integration.partner_support import Caller, error_members, login


async def test_a_revoked_partners_session_cookie_is_refused_on_the_next_request(
    app_client: AppClient, caller: Caller
) -> None:
    app, client = app_client
    await login(client, caller)
    assert (await client.get("/api/v4/me", headers=caller.touchpoint_headers)).status_code == 200
    async with runtime_of(app).db.session() as session:
        revoked = await credentials.revoke_partner(session, caller.tenant_id, caller.principal)
    assert revoked.sessions_ended == 1
    me = await client.get("/api/v4/me", headers=caller.touchpoint_headers)
    assert me.status_code == 401
    assert error_members(me) == [("party", "NotLoggedIn")]
    again = await client.post(
        "/api/v4/login",
        headers=caller.touchpoint_headers,
        json={"principal": caller.principal, "password": caller.password},
    )
    assert error_members(again) == [("credential", "InvalidCredentials")]


async def test_a_revoked_partners_basic_credentials_are_refused_though_recently_verified(
    app_client: AppClient, caller: Caller
) -> None:
    app, client = app_client
    me = "/api/v4/me"
    assert (await client.get(me, headers=caller.touchpoint_headers, auth=caller.basic)).status_code == 200
    async with runtime_of(app).db.session() as session:
        await credentials.revoke_partner(session, caller.tenant_id, caller.principal)
    refused = await client.get(me, headers=caller.touchpoint_headers, auth=caller.basic)
    assert error_members(refused) == [("credential", "InvalidCredentials")]


async def test_a_reset_password_ends_sessions_and_only_the_new_password_works(
    app_client: AppClient, caller: Caller
) -> None:
    app, client = app_client
    await login(client, caller)
    assert (
        await client.get("/api/v4/me", headers=caller.touchpoint_headers, auth=caller.basic)
    ).status_code == 200
    async with runtime_of(app).db.session() as session:
        issued = await credentials.reset_partner_password(session, caller.tenant_id, caller.principal)
    assert issued.generated_password is not None and issued.sessions_ended == 1
    client.cookies.clear()
    old = await client.get("/api/v4/me", headers=caller.touchpoint_headers, auth=caller.basic)
    assert error_members(old) == [("credential", "InvalidCredentials")]
    renewed = dataclasses.replace(caller, password=issued.generated_password)
    assert (
        await client.get("/api/v4/me", headers=renewed.touchpoint_headers, auth=renewed.basic)
    ).status_code == 200


async def test_a_rotated_touchpoints_old_token_is_refused_though_recently_verified(
    app_client: AppClient, caller: Caller
) -> None:
    app, client = app_client
    me = "/api/v4/me"
    assert (await client.get(me, headers=caller.touchpoint_headers, auth=caller.basic)).status_code == 200
    runtime = runtime_of(app)
    async with runtime.db.session() as session:
        rotated = await credentials.rotate_touchpoint(session, runtime.box, caller.tenant_id, caller.code)
    old = await client.get(me, headers=caller.touchpoint_headers, auth=caller.basic)
    assert error_members(old) == [("touchpoint", "InvalidToken")]
    renewed = dataclasses.replace(caller, token=rotated.token)
    assert (await client.get(me, headers=renewed.touchpoint_headers, auth=renewed.basic)).status_code == 200


async def test_a_revoked_touchpoint_is_refused_until_it_is_rotated(
    app_client: AppClient, caller: Caller
) -> None:
    app, client = app_client
    me = "/api/v4/me"
    runtime = runtime_of(app)
    async with runtime.db.session() as session:
        await credentials.revoke_touchpoint(session, caller.tenant_id, caller.code)
    refused = await client.get(me, headers=caller.touchpoint_headers, auth=caller.basic)
    assert error_members(refused) == [("touchpoint", "InvalidToken")]
    async with runtime.db.session() as session:
        rotated = await credentials.rotate_touchpoint(session, runtime.box, caller.tenant_id, caller.code)
    assert rotated.touchpoint.revoked_at is None
    renewed = dataclasses.replace(caller, token=rotated.token)
    assert (await client.get(me, headers=renewed.touchpoint_headers, auth=renewed.basic)).status_code == 200
