"""Credentials and requests shared by the partner API tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from headwater.access import credentials
from headwater.runtime import Runtime
from tests.conftest import AppClient, runtime_of

SEED_REQUEST: dict[str, Any] = {
    "host": "test.myftp.net",
    "user": "demo",
    "password": "password",
    "workingDirectory": "/stock",
    "processorType": 25012,
    "fileImportType": "PARTY",
    "authenticationType": "PASSWORD",
    "dataSourceType": "FTP",
    "touchpointCode": "test",
    "amountCalculated": True,
}


@dataclass(frozen=True)
class Caller:
    """One tenant's touchpoint and partner, as a client would hold them."""

    tenant_id: int
    code: str
    token: str
    principal: str
    password: str

    @property
    def touchpoint_headers(self) -> dict[str, str]:
        return {"Thalamus-Touchpoint": self.code, "Thalamus-Token": self.token}

    @property
    def touchpoint_query(self) -> dict[str, str]:
        return {"touchpoint": self.code, "token": self.token}

    @property
    def basic(self) -> httpx.BasicAuth:
        return httpx.BasicAuth(self.principal, self.password)


async def provision(
    runtime: Runtime,
    tenant: str = "acme",
    *,
    code: str = "test",
    principal: str = "partner@acme.example",
    password: str = "correct horse battery",
    first_name: str | None = "Ada",
    last_name: str | None = "Lovelace",
) -> Caller:
    async with runtime.db.session() as session:
        created = await credentials.create_tenant(session, tenant)
        touchpoint = await credentials.create_touchpoint(session, runtime.box, created.id, code)
        await credentials.create_partner(
            session,
            created.id,
            principal,
            password=password,
            first_name=first_name,
            last_name=last_name,
            email=principal if "@" in principal else None,
        )
    return Caller(created.id, code, touchpoint.token, principal, password)


async def add_partner(runtime: Runtime, tenant_id: int, principal: str, password: str) -> None:
    async with runtime.db.session() as session:
        await credentials.create_partner(session, tenant_id, principal, password=password)


async def login(client: httpx.AsyncClient, caller: Caller) -> httpx.Response:
    response = await client.post(
        "/api/v4/login",
        headers=caller.touchpoint_headers,
        json={"principal": caller.principal, "password": caller.password},
    )
    assert response.status_code == 200, response.text
    return response


def error_members(response: httpx.Response) -> list[tuple[str, str]]:
    """The members of ``errors`` in order, repeated keys kept."""
    body = json.loads(response.text, object_pairs_hook=list)
    assert [key for key, _ in body] == ["errors"]
    members: list[tuple[str, str]] = body[0][1]
    return members


def codes(response: httpx.Response) -> list[str]:
    return [code for key, code in error_members(response) if key == "partnerDataSource"]


async def signed_in_caller(app_client: AppClient) -> Caller:
    """A tenant provisioned in the app under test, its partner logged in on the app's client."""
    app, client = app_client
    caller = await provision(runtime_of(app))
    await login(client, caller)
    return caller


async def create_source(client: httpx.AsyncClient, caller: Caller, **changes: Any) -> httpx.Response:
    """The seed's datasource request, with ``changes``, sent as the caller."""
    return await client.post(
        "/api/v4/partner/datasources", headers=caller.touchpoint_headers, json={**SEED_REQUEST, **changes}
    )
