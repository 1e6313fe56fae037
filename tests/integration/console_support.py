"""Signing in to the console as a browser would: the login form's CSRF token, then the session cookie."""

from __future__ import annotations

import re

import httpx

from headwater.access import operators
from headwater.runtime import Runtime

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    found = _TOKEN.search(page.text)
    assert found, page.text[:2000]
    return found.group(1)


async def sign_in(
    client: httpx.AsyncClient, principal: str, password: str, tenant: str = ""
) -> httpx.Response:
    form = await client.get("/console/login")
    return await client.post(
        "/console/login",
        data={"tenant": tenant, "principal": principal, "password": password, "csrf_token": csrf_of(form)},
    )


async def make_operator(runtime: Runtime, principal: str = "ops", password: str = "operator-password") -> str:
    async with runtime.db.session() as session:
        await operators.create_operator(session, principal, password=password)
    return password
