"""The partner API (Thalamus v4): the seed's datasource contract, end to end on both databases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import AppClient
from tests.integration.partner_support import (
    SEED_REQUEST,
    Caller,
    codes,
    create_source,
    error_members,
    signed_in_caller,
)

# The seed's example response, as a JSON parser reads it (its repeated touchpointCode: the last wins).
SEED_RESPONSE = json.loads(
    """
{
  "context": {
    "links": [{"ref": "home", "href": "http://localhost:8080/thalamus/api/v3/people/home"}],
    "activities": [],
    "simpleProfile": {"firstname": null, "lastname": null, "email": null, "shortName": null,
                      "longName": null, "me": false, "urlAvatar": ""}
  },
  "datasource": {
    "id": 1, "host": "test.myftp.net", "user": "demo", "password": "password",
    "workingDirectory": "/stock", "processorType": 25012, "fileImportType": "PARTY",
    "dataSourceType": "FTP", "touchpointCode": "test", "authenticationType": "PASSWORD",
    "touchpointCode": "REST02", "active": true, "privateKeyFile": null, "passphrase": null,
    "region": null, "reprocessingDays": null, "lastRunningTime": null, "amountCalculated": true
  }
}
"""
)


@pytest.fixture
async def caller(app_client: AppClient) -> Caller:
    return await signed_in_caller(app_client)


async def test_the_seed_request_creates_a_datasource_shaped_like_the_seed_response(
    app_client: AppClient, caller: Caller
) -> None:
    _, client = app_client
    response = await create_source(client, caller)
    assert response.status_code == 201, response.text
    body = response.json()
    assert list(body) == ["context", "datasource"]

    context, seed_context = body["context"], SEED_RESPONSE["context"]
    assert set(context) == set(seed_context)
    assert [set(link) for link in context["links"]] == [{"ref", "href"}]
    assert context["links"][0]["ref"] == "home"
    assert context["activities"] == []
    assert set(context["simpleProfile"]) == set(seed_context["simpleProfile"])
    assert context["simpleProfile"]["firstname"] == "Ada"
    assert context["simpleProfile"]["lastname"] == "Lovelace"
    assert context["simpleProfile"]["email"] == caller.principal
    assert context["simpleProfile"]["me"] is True

    datasource, seed_datasource = body["datasource"], SEED_RESPONSE["datasource"]
    assert list(datasource)[: len(seed_datasource)] == list(seed_datasource)
    for field, seed_value in seed_datasource.items():
        value = datasource[field]
        if field == "id":
            assert isinstance(value, int) and value >= 1
        elif field == "password":
            assert value == "********"
        elif field == "touchpointCode":
            assert value == SEED_REQUEST["touchpointCode"]
        else:
            assert value == seed_value, field
            assert type(value) is type(seed_value), field


async def test_a_created_datasource_is_listed_read_changed_and_deleted(
    app_client: AppClient, caller: Caller
) -> None:
    _, client = app_client
    headers = caller.touchpoint_headers
    created = (await create_source(client, caller)).json()["datasource"]
    url = f"/api/v4/partner/datasources/{created['id']}"

    listed = await client.get("/api/v4/partner/datasources", headers=headers)
    assert listed.status_code == 200
    assert [d["id"] for d in listed.json()["datasources"]] == [created["id"]]

    read = await client.get(url, headers=headers)
    assert read.status_code == 200
    assert read.json()["datasource"] == created

    changed = await client.put(
        url, headers=headers, json={**SEED_REQUEST, "host": "other.example.net", "port": 2121}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["datasource"]["host"] == "other.example.net"
    assert changed.json()["datasource"]["port"] == 2121

    deleted = await client.delete(url, headers=headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert (await client.get(url, headers=headers)).status_code == 404


async def test_the_datasource_answers_the_extra_fields(app_client: AppClient, caller: Caller) -> None:
    _, client = app_client
    datasource = (await create_source(client, caller, name="stock feed", reprocessingDays=7)).json()[
        "datasource"
    ]
    for field in (
        "port",
        "endpointUrl",
        "tls",
        "name",
        "uuid",
        "status",
        "filePattern",
        "excludePattern",
        "afterImport",
        "archiveDirectory",
        "recursive",
    ):
        assert field in datasource
    assert datasource["name"] == "stock feed"
    assert datasource["uuid"].startswith("ds_")
    assert datasource["status"] == "idle"
    assert datasource["reprocessingDays"] == 7


async def test_an_s3_datasource_keeps_its_region_and_endpoint(app_client: AppClient, caller: Caller) -> None:
    _, client = app_client
    response = await create_source(
        client,
        caller,
        dataSourceType="S3",
        host="partner-drop",
        region="eu-west-1",
        endpointUrl="http://127.0.0.1:9000",
        workingDirectory="",
    )
    assert response.status_code == 201, response.text
    datasource = response.json()["datasource"]
    assert (datasource["region"], datasource["endpointUrl"]) == ("eu-west-1", "http://127.0.0.1:9000")
    assert datasource["workingDirectory"] == "/"


async def test_unknown_fields_are_ignored(app_client: AppClient, caller: Caller) -> None:
    _, client = app_client
    response = await create_source(client, caller, colour="blue", nested={"a": [1, 2]})
    assert response.status_code == 201, response.text
    assert "colour" not in response.json()["datasource"]


def _without(field: str) -> dict[str, Any]:
    return {k: v for k, v in SEED_REQUEST.items() if k != field}


# One app for all the cases: each case is one request, and starting an app per case would dominate.
INVALID_BODIES: list[tuple[dict[str, Any], list[str]]] = [
    (_without("host"), ["HostRequired"]),
    ({**SEED_REQUEST, "host": "   "}, ["HostRequired"]),
    ({**SEED_REQUEST, "host": "ftp://bad/host"}, ["InvalidHost"]),
    (_without("user"), ["UserRequired"]),
    (_without("password"), ["PasswordRequired"]),
    (_without("workingDirectory"), ["WorkingDirectoryRequired"]),
    ({**SEED_REQUEST, "workingDirectory": "/in/../etc"}, ["InvalidWorkingDirectory"]),
    (_without("processorType"), ["ProcessorTypeRequired"]),
    ({**SEED_REQUEST, "processorType": 12345}, ["InvalidProcessorType"]),
    ({**SEED_REQUEST, "processorType": "stock"}, ["InvalidProcessorType"]),
    ({**SEED_REQUEST, "fileImportType": "NOBODY"}, ["InvalidFileImportType"]),
    (_without("authenticationType"), ["AuthenticationTypeRequired"]),
    ({**SEED_REQUEST, "authenticationType": "TOKEN"}, ["InvalidAuthenticationType"]),
    (_without("dataSourceType"), ["DataSourceTypeRequired"]),
    ({**SEED_REQUEST, "dataSourceType": "HTTP"}, ["InvalidDataSourceType"]),
    (_without("touchpointCode"), ["TouchpointCodeRequired", "InvalidTouchpointCode"]),
    ({**SEED_REQUEST, "touchpointCode": "elsewhere"}, ["InvalidTouchpointCode"]),
    ({**SEED_REQUEST, "amountCalculated": "yes"}, ["InvalidAmountCalculated"]),
    ({**SEED_REQUEST, "port": 70000}, ["InvalidPort"]),
    ({**SEED_REQUEST, "reprocessingDays": -5}, ["InvalidReprocessingDays"]),
    (
        {**SEED_REQUEST, "dataSourceType": "SFTP", "authenticationType": "CERTIFICATE"},
        ["PrivateKeyFileRequired"],
    ),
    (
        {
            **SEED_REQUEST,
            "dataSourceType": "SFTP",
            "authenticationType": "CERTIFICATE",
            "privateKeyFile": "not a key",
        },
        ["InvalidPrivateKeyFile"],
    ),
    ({**SEED_REQUEST, "dataSourceType": "S3", "host": "partner-drop"}, ["RegionRequired"]),
    ({**SEED_REQUEST, "endpointUrl": "ftp://[broken"}, ["InvalidEndpointUrl"]),
    ({**SEED_REQUEST, "user": "nul\u0000byte"}, ["InvalidUser"]),
]


async def test_each_invalid_field_is_answered_with_its_code(app_client: AppClient, caller: Caller) -> None:
    _, client = app_client
    for body, expected in INVALID_BODIES:
        response = await client.post(
            "/api/v4/partner/datasources", headers=caller.touchpoint_headers, json=body
        )
        assert response.status_code == 400, (expected, response.text)
        assert codes(response) == expected
    listed = await client.get("/api/v4/partner/datasources", headers=caller.touchpoint_headers)
    assert listed.json()["datasources"] == []


async def test_several_errors_repeat_the_key_in_the_order_found(
    app_client: AppClient, caller: Caller
) -> None:
    _, client = app_client
    response = await client.post("/api/v4/partner/datasources", headers=caller.touchpoint_headers, json={})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert error_members(response) == [
        ("partnerDataSource", "HostRequired"),
        ("partnerDataSource", "UserRequired"),
        ("partnerDataSource", "PasswordRequired"),
        ("partnerDataSource", "WorkingDirectoryRequired"),
        ("partnerDataSource", "ProcessorTypeRequired"),
        ("partnerDataSource", "AuthenticationTypeRequired"),
        ("partnerDataSource", "DataSourceTypeRequired"),
        ("partnerDataSource", "TouchpointCodeRequired"),
        ("partnerDataSource", "InvalidTouchpointCode"),
    ]
    assert response.text.count('"partnerDataSource"') == 9


async def test_the_seeds_error_example_is_answered_byte_for_byte_in_shape(
    app_client: AppClient, caller: Caller
) -> None:
    _, client = app_client
    response = await client.post(
        "/api/v4/partner/datasources", headers=caller.touchpoint_headers, json=_without("touchpointCode")
    )
    assert response.text == (
        '{"errors": {"partnerDataSource": "TouchpointCodeRequired", "partnerDataSource": "InvalidTouchpointCode"}}'
    )


async def test_a_taken_name_is_answered_as_such(app_client: AppClient, caller: Caller) -> None:
    _, client = app_client
    assert (await create_source(client, caller, name="feed")).status_code == 201
    response = await create_source(client, caller, name="feed")
    assert response.status_code == 400
    assert codes(response) == ["NameAlreadyTaken"]


async def test_malformed_json_is_invalid_json(app_client: AppClient, caller: Caller) -> None:
    _, client = app_client
    for content in (b'{"host": ', b"", b"\xff\xfe\x00", b"[1, 2]", b'"text"', b"null"):
        response = await client.post(
            "/api/v4/partner/datasources",
            headers={**caller.touchpoint_headers, "Content-Type": "application/json"},
            content=content,
        )
        assert response.status_code == 400, content
        assert error_members(response) == [("request", "InvalidJson")]


async def test_a_body_that_is_not_json_is_an_unsupported_media_type(
    app_client: AppClient, caller: Caller
) -> None:
    _, client = app_client
    response = await client.post(
        "/api/v4/partner/datasources", headers=caller.touchpoint_headers, data={"host": "x"}
    )
    assert response.status_code == 415
    assert error_members(response) == [("request", "UnsupportedMediaType")]
    response = await client.post(
        "/api/v4/partner/datasources",
        headers={**caller.touchpoint_headers, "Content-Type": "text/plain"},
        content=json.dumps(SEED_REQUEST),
    )
    assert response.status_code == 415


async def test_ids_that_name_no_datasource_are_not_found(app_client: AppClient, caller: Caller) -> None:
    _, client = app_client
    ids = ["abc", "0", "-1", "1.5", "99999", str(2**63), "9" * 400, "%00"]
    for source_id, method in ((i, m) for i in ids for m in ("GET", "PUT", "DELETE")):
        response = await client.request(
            method,
            f"/api/v4/partner/datasources/{source_id}",
            headers=caller.touchpoint_headers,
            json=SEED_REQUEST if method == "PUT" else None,
        )
        assert response.status_code == 404, (method, response.text)
        assert error_members(response) == [("partnerDataSource", "NotFound")]


async def test_openapi_description_and_docs_are_served(app_client: AppClient) -> None:
    _, client = app_client
    spec = await client.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert {"/api/v4/login", "/api/v4/logout", "/api/v4/me", "/api/v4/partner/datasources"} <= set(paths)
    assert "requestBody" in paths["/api/v4/partner/datasources"]["post"]
    assert (await client.get("/docs")).status_code == 200
