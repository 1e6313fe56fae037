"""schemathesis against /prod/openapi.json: no server error, and every answer matches the description.

schemathesis generates the requests from the published description; they are sent with httpx to the
ASGI app in the test's own event loop (the app's store lives there), with a real token and area key.
"""

from __future__ import annotations

import warnings
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

with warnings.catch_warnings():
    # schemathesis 3 subclasses jsonschema's deprecated RefResolver when it is imported.
    warnings.simplefilter("ignore", DeprecationWarning)
    import schemathesis
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

from headwater.api import integration
from headwater.settings import Settings
from tests.conftest import make_settings, running_app, runtime_of
from tests.integration.integration_support import PULL_SOURCE, add_tenant, connect, seed_sales

DOCUMENT = integration.create_app(Settings()).openapi()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # loading the schema imports more of it
    # FastAPI describes the API in OpenAPI 3.1, which schemathesis 3 supports behind this switch.
    schemathesis.experimental.OPEN_API_3_1.enable()
    SCHEMA = schemathesis.from_dict(DOCUMENT)
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)
Authorized = tuple[httpx.AsyncClient, dict[str, str]]


@pytest.fixture
async def authorized(tmp_path: Any, database_url: str) -> Any:
    """A running app with a little of everything in the store, and a caller's two headers."""
    app_settings = make_settings(tmp_path, database_url, rate_limit_per_second=1_000_000)
    async with running_app(app_settings) as (app, http):
        yield http, await _provision(app, http)


async def _provision(app: FastAPI, http: httpx.AsyncClient) -> dict[str, str]:
    runtime = runtime_of(app)
    tenant_id = await add_tenant(runtime, "acme")
    await seed_sales(runtime, tenant_id, 5)
    client = await connect(app, http, "acme")
    assert "id" in await client.send("POST", "/dataSources", PULL_SOURCE)
    return client.headers


def _httpx_kwargs(case: schemathesis.Case, headers: dict[str, str]) -> dict[str, Any]:
    """schemathesis speaks ``requests``; the few names that differ in httpx are renamed."""
    sent = case.as_transport_kwargs(base_url="http://testserver/prod", headers=headers)
    kwargs = {
        key: sent[key] for key in ("method", "url", "headers", "params", "json", "files") if sent.get(key)
    }
    data = sent.get("data")
    if isinstance(data, bytes | str):
        kwargs["content"] = data
    elif data:
        kwargs["data"] = data
    return kwargs


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@given(case=SCHEMA.as_strategy())
async def test_no_request_from_the_description_breaks_it(
    authorized: Authorized, case: schemathesis.Case
) -> None:
    http, headers = authorized
    response = await http.request(**_httpx_kwargs(case, headers))
    case.validate_response(response, checks=CHECKS)
    assert response.status_code == 200, (case.method, case.formatted_path, response.text)
    assert '"internal_error"' not in response.text, (case.method, case.formatted_path, case.query)
