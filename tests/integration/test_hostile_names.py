"""Free text a client names things with (an upload's file name, a source's fields) is refused in each
dialect's style when no database could store it: a NUL, a lone surrogate, or more than its column holds.
Run on SQLite and PostgreSQL; PostgreSQL is the one that would otherwise fail the request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI

from tests.conftest import AppClient, runtime_of
from tests.integration.integration_support import PULL_SOURCE, connect, is_message
from tests.integration.partner_support import SEED_REQUEST
from tests.support.tenants import make_tenancy

SALES_CSV = b"saleDate,transactionId,quantity,amount,partnerSkuCode\n2024-03-01,T1,2,10.50,SKU-1\n"
BOUNDARY = "hostile-boundary"
NAMES = {"nul": "march\x00.csv", "too-long": "m" * 997 + ".csv"}


def _multipart(filename: str) -> tuple[bytes, dict[str, str]]:
    """A multipart body naming its file part exactly ``filename`` (httpx would escape a NUL)."""
    body = (
        (
            f"--{BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + SALES_CSV
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    return body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


async def _partner_headers(app: FastAPI) -> tuple[dict[str, str], tuple[str, str]]:
    tenancy = await make_tenancy(runtime_of(app))
    headers = {"Thalamus-Touchpoint": tenancy.touchpoint_code, "Thalamus-Token": tenancy.touchpoint_token}
    return headers, (tenancy.principal, tenancy.password)


@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
async def test_a_partner_upload_whose_file_name_cannot_be_stored_is_400(
    app_client: AppClient, name: str
) -> None:
    app, http = app_client
    headers, auth = await _partner_headers(app)
    body, content_type = _multipart(name)

    response = await http.post(
        "/api/v4/import/file",
        params={"type": 25011},
        content=body,
        headers={**headers, **content_type},
        auth=auth,
    )

    assert response.status_code == 400, response.text
    assert response.json() == {"errors": {"partnerDataSource": "InvalidName"}}
    fine = await http.post(
        "/api/v4/import/file",
        params={"type": 25011},
        files={"file": ("m.csv", SALES_CSV)},
        headers=headers,
        auth=auth,
    )
    assert fine.status_code == 200 and fine.json()["rowsOk"] == 1, fine.text


async def test_a_partner_upload_named_by_query_with_a_nul_is_400(app_client: AppClient) -> None:
    app, http = app_client
    headers, auth = await _partner_headers(app)

    response = await http.post(
        "/api/v4/import/file",
        params={"type": 25011, "name": "a\x00b.csv"},
        files={"file": ("m.csv", SALES_CSV)},
        headers=headers,
        auth=auth,
    )

    assert response.status_code == 400
    assert response.json() == {"errors": {"partnerDataSource": "InvalidName"}}


@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
async def test_an_integration_upload_whose_file_name_cannot_be_stored_answers_a_message(
    app_client: AppClient, name: str
) -> None:
    app, http = app_client
    await make_tenancy(runtime_of(app), code="shop")
    client = await connect(app, http, "acme")
    source_id = (await client.send("POST", "/dataSources", PULL_SOURCE))["id"]
    path = f"/dataSources/{source_id}/importFiles"

    raw = await client.request("POST", path, params={"name": name}, content=SALES_CSV)
    body, content_type = _multipart(name)
    multipart = await client.request("POST", path, content=body, headers=content_type)

    for response in (raw, multipart):
        assert response.status_code == 200
        assert is_message(response.json(), "invalid_name"), response.text
    assert await client.get(f"/dataSources/{source_id}/importFiles") == []


TEXT_FIELDS = [
    "host",
    "user",
    "password",
    "workingDirectory",
    "touchpointCode",
    "region",
    "endpointUrl",
    "name",
    "filePattern",
    "excludePattern",
    "archiveDirectory",
]
HOSTILE_TEXTS = {"nul": "a\x00b", "surrogate": "a\ud800b", "too-long": "x" * 20_001}


def _hostile_bodies(base: dict[str, Any]) -> list[tuple[str, bytes]]:
    """(field, a JSON body where that field holds a hostile text) for every text field."""
    bodies = []
    for field in TEXT_FIELDS:
        for value in HOSTILE_TEXTS.values():
            body = {**base, field: value}
            if field == "archiveDirectory":
                body["afterImport"] = "MOVE"
            bodies.append((field, json.dumps(body).encode()))  # escapes the surrogate, as a client would
    return bodies


async def test_a_partner_datasource_with_unstorable_text_is_400(app_client: AppClient) -> None:
    app, http = app_client
    headers, auth = await _partner_headers(app)
    base = {**SEED_REQUEST, "touchpointCode": headers["Thalamus-Touchpoint"]}

    for field, body in _hostile_bodies(base):
        response = await http.post(
            "/api/v4/partner/datasources",
            content=body,
            headers={**headers, "Content-Type": "application/json"},
            auth=auth,
        )
        assert response.status_code == 400, (field, response.text)
        assert response.json() == {"errors": {"partnerDataSource": f"Invalid{field[0].upper()}{field[1:]}"}}

    listed = await http.get("/api/v4/partner/datasources", headers=headers, auth=auth)
    assert listed.status_code == 200 and listed.json()["datasources"] == [], listed.text


async def test_an_integration_data_source_with_unstorable_text_answers_a_message(
    app_client: AppClient,
) -> None:
    app, http = app_client
    await make_tenancy(runtime_of(app), code="shop")
    client = await connect(app, http, "acme")

    for field, body in _hostile_bodies(PULL_SOURCE):
        response = await client.request(
            "POST", "/dataSources", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 200
        assert is_message(response.json(), f"invalid_{field}"), (field, response.text)

    assert await client.get("/dataSources") == []
