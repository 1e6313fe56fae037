"""Tenants, clients, area keys, records and a client of the integration API, as its users would write it."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI

from headwater.access import areakeys, oauth
from headwater.runtime import Runtime
from tests.conftest import runtime_of
from tests.support import records

PULL_SOURCE: dict[str, Any] = {
    "host": "ftp.example.com",
    "user": "demo",
    "password": "s3cret-password",
    "workingDirectory": "/sales",
    "processorType": 25011,
    "fileImportType": "PARTY",
    "authenticationType": "PASSWORD",
    "dataSourceType": "FTP",
    "touchpointCode": "shop",
    "amountCalculated": True,
}


async def add_tenant(runtime: Runtime, name: str, *, touchpoint: str = "shop") -> int:
    """A tenant with one touchpoint code (tokens do not matter to the integration API)."""
    async with runtime.db.session() as session:
        return await records.add_tenant(session, name, touchpoint=touchpoint)


async def add_client(runtime: Runtime, tenant: str, *grants: str) -> oauth.IssuedClient:
    async with runtime.db.session() as session:
        return await oauth.create_client(session, tenant, grants)


async def add_area_key(
    runtime: Runtime, tenant: str, *, per_second: int | None = None, per_day: int | None = None
) -> str:
    async with runtime.db.session() as session:
        issued = await areakeys.create_area_key(
            session, runtime.box, tenant, per_second=per_second, per_day=per_day
        )
        return issued.key


async def seed_sales(
    runtime: Runtime, tenant_id: int, count: int, *, name: str = "uploads", first_day: date = date(2024, 1, 1)
) -> records.Seeded:
    """``count`` partner sales written straight into the tables, one day apart."""
    async with runtime.db.session() as session:
        return await records.seed_sales(session, tenant_id, count, name=name, first_day=first_day)


class IntegrationClient:
    """What a user of the integration API writes: get a token, then send it and the area key along."""

    def __init__(self, http: httpx.AsyncClient, client_id: str, secret: str, api_key: str) -> None:
        self.http = http
        self.client_id = client_id
        self.secret = secret
        self.api_key = api_key
        self.token: str | None = None

    async def authenticate(self) -> dict[str, Any]:
        response = await self.http.post(
            "/oauth2/token",
            auth=httpx.BasicAuth(self.client_id, self.secret),
            data={"grant_type": "client_credentials"},
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        self.token = answer["access_token"]
        return answer

    @property
    def headers(self) -> dict[str, str]:
        assert self.token is not None, "authenticate first"
        return {"Authorization": f"Bearer {self.token}", "x-api-key": self.api_key}

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.http.request(method, "/prod" + path, headers=headers, **kwargs)

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.request("GET", path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def send(self, method: str, path: str, body: Any) -> Any:
        response = await self.request(method, path, json=body)
        assert response.status_code == 200, response.text
        return response.json()

    async def all_pages(self, path: str, page_size: int = 1000, **params: Any) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        while True:
            page = await self.get(path, maxNumRows=page_size, firstRow=len(rows), **params)
            assert isinstance(page, list), page
            rows.extend(page)
            if len(page) < page_size:
                return rows


async def connect(
    app: FastAPI, http: httpx.AsyncClient, tenant: str, *grants: str, api_key: str | None = None
) -> IntegrationClient:
    """A client of ``tenant`` (granted ``grants`` too) holding a token and an area key of ``tenant``."""
    runtime = runtime_of(app)
    issued = await add_client(runtime, tenant, *grants)
    key = api_key or await add_area_key(runtime, tenant)
    client = IntegrationClient(http, issued.client_id, issued.secret, key)
    await client.authenticate()
    return client


def is_message(answer: Any, code: str) -> bool:
    return (
        isinstance(answer, dict)
        and answer.get("messageCode") == code
        and answer.get("messageType") == "ERROR"
        and isinstance(answer.get("messageText"), str)
    )
