"""Failed sign-ins are throttled per client address and per principal, and each dialect says so its way.

Requests come from chosen client addresses (the ASGI client the server sees); failures are counted in
memory here, and in Redis, shared by two apps, in the last test.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from headwater.access import apikeys
from headwater.settings import Settings
from tests.conftest import make_settings, running_app, runtime_of
from tests.integration.integration_support import add_client
from tests.integration.partner_support import Caller, add_partner, error_members, provision
from tests.support.services import require_redis

PER_PRINCIPAL = 3
PER_ADDRESS = 6
MINE = "192.0.2.10"
THEIRS = "198.51.100.66"


def throttled_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        auth_failures_per_address=f"{PER_ADDRESS}/minute",
        auth_failures_per_principal=f"{PER_PRINCIPAL}/minute",
        **overrides,
    )


@pytest.fixture
async def app(tmp_path: Path, database_url: str) -> AsyncIterator[FastAPI]:
    async with running_app(throttled_settings(tmp_path, database_url)) as (running, _):
        yield running


@pytest.fixture
async def caller(app: FastAPI) -> Caller:
    return await provision(runtime_of(app))


@asynccontextmanager
async def client_at(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _login(http: httpx.AsyncClient, caller: Caller, principal: str, password: str) -> httpx.Response:
    http.cookies.clear()
    return await http.post(
        "/api/v4/login",
        headers=caller.touchpoint_headers,
        json={"principal": principal, "password": password},
    )


def _retry_after(response: httpx.Response) -> int:
    seconds = int(response.headers["Retry-After"])
    assert 1 <= seconds <= 60
    return seconds


async def test_failed_logins_past_the_limit_lock_that_partner_in_the_partner_style(
    app: FastAPI, caller: Caller
) -> None:
    await add_partner(runtime_of(app), caller.tenant_id, "bob", "bob's long password")
    async with client_at(app, MINE) as mine, client_at(app, THEIRS) as theirs:
        for _ in range(PER_PRINCIPAL):
            wrong = await _login(theirs, caller, caller.principal, "a guess")
            assert (wrong.status_code, error_members(wrong)) == (401, [("credential", "InvalidCredentials")])
        for http in (theirs, mine):  # the principal is locked whoever asks, right password or not
            refused = await _login(http, caller, caller.principal, caller.password)
            assert refused.status_code == 429
            assert error_members(refused) == [("credential", "TooManyAttempts")]
            _retry_after(refused)
        assert (await _login(theirs, caller, "bob", "bob's long password")).status_code == 200


async def test_failed_touchpoint_tokens_past_the_limit_lock_that_code_but_not_a_token_verified_lately(
    app: FastAPI, caller: Caller
) -> None:
    async with client_at(app, MINE) as mine, client_at(app, THEIRS) as theirs:
        assert (
            await mine.get("/api/v4/me", headers=caller.touchpoint_headers, auth=caller.basic)
        ).status_code == 200
        guessing = {"Thalamus-Touchpoint": caller.code, "Thalamus-Token": "a guess"}
        for _ in range(PER_PRINCIPAL):
            wrong = await theirs.get("/api/v4/me", headers=guessing)
            assert (wrong.status_code, error_members(wrong)) == (401, [("touchpoint", "InvalidToken")])
        refused = await theirs.get("/api/v4/me", headers=guessing)
        assert (refused.status_code, error_members(refused)) == (429, [("touchpoint", "TooManyAttempts")])
        _retry_after(refused)
        # Only the right token is ever remembered as verified: it still passes while the code is locked.
        still = await mine.get("/api/v4/me", headers=caller.touchpoint_headers, auth=caller.basic)
        assert still.status_code == 200


async def test_an_address_past_its_failures_is_refused_for_every_credential_and_others_are_not(
    app: FastAPI, caller: Caller
) -> None:
    async with client_at(app, MINE) as mine, client_at(app, THEIRS) as theirs:
        for n in range(PER_ADDRESS):
            assert (await _login(theirs, caller, f"nobody-{n}", "a guess")).status_code == 401
        refused = await _login(theirs, caller, caller.principal, caller.password)
        assert (refused.status_code, error_members(refused)) == (429, [("credential", "TooManyAttempts")])
        assert (await _login(mine, caller, caller.principal, caller.password)).status_code == 200


async def test_the_token_endpoint_answers_429_in_rfc_6749_style(app: FastAPI, caller: Caller) -> None:
    runtime = runtime_of(app)
    target, other = await add_client(runtime, "acme"), await add_client(runtime, "acme")
    form = {"grant_type": "client_credentials"}
    async with client_at(app, THEIRS) as theirs:
        for _ in range(PER_PRINCIPAL):
            wrong = await theirs.post("/oauth2/token", data=form, auth=(target.client_id, "a guess"))
            assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
        refused = await theirs.post("/oauth2/token", data=form, auth=(target.client_id, target.secret))
        assert refused.status_code == 429
        assert refused.json() == {
            "error": "too_many_requests",
            "error_description": "too many failed attempts for this client or from this address",
        }
        assert refused.headers["Cache-Control"] == "no-store"
        _retry_after(refused)
        assert (
            await theirs.post("/oauth2/token", data=form, auth=(other.client_id, other.secret))
        ).status_code == 200


async def test_wrong_api_keys_past_the_address_limit_answer_429_in_the_chartmogul_style(
    app: FastAPI, caller: Caller
) -> None:
    runtime = runtime_of(app)
    async with runtime.db.session() as session:
        key = (await apikeys.issue(session, runtime.box, caller.tenant_id)).key
    async with client_at(app, MINE) as mine, client_at(app, THEIRS) as theirs:
        for n in range(PER_ADDRESS):
            assert (await theirs.get("/v1/ping", auth=(f"hwk_guess{n}", ""))).status_code == 401
        refused = await theirs.get("/v1/ping", auth=(key, ""))
        assert refused.status_code == 429
        assert refused.json() == {
            "code": 429,
            "message": "Your request rate has exceeded our rate limit.",
            "param": None,
        }
        _retry_after(refused)
        assert (await mine.get("/v1/ping", auth=(key, ""))).status_code == 200


@pytest.mark.redis
async def test_failures_counted_in_redis_lock_the_principal_on_every_process(tmp_path: Path) -> None:
    redis_url = require_redis("redis://127.0.0.1:6379/8")
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}"
    settings = throttled_settings(tmp_path, database_url, redis_url=redis_url)
    # Redis outlives the test: a principal and an address of this run's own keep runs apart.
    principal = f"ada-{uuid.uuid4().hex}"
    address = f"2001:db8::{uuid.uuid4().hex[:4]}"
    async with running_app(settings) as (first, _), running_app(settings) as (second, _):
        caller = await provision(runtime_of(first), principal=principal)
        async with client_at(first, address) as on_first, client_at(second, address) as on_second:
            for _ in range(PER_PRINCIPAL):
                assert (await _login(on_first, caller, principal, "a guess")).status_code == 401
            refused = await _login(on_second, caller, principal, caller.password)
            assert (refused.status_code, error_members(refused)) == (429, [("credential", "TooManyAttempts")])
