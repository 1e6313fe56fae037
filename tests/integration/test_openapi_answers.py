"""``/openapi.json`` and ``/prod/openapi.json`` are valid OpenAPI 3.1 and tell the truth: real answers of the
partner API and the data sources API, successes and errors, validate against the documented schemas."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from headwater.settings import Settings
from tests.conftest import running_app
from tests.integration.test_chartmogul_api import new_tenant_key
from tests.integration.test_import_servers import SALES, Partner, login_fields
from tests.servers import SftpServerInfo
from tests.support.runs import importing_settings, wait_idle
from tests.support.tenants import make_tenancy

DIALECT_PREFIXES = ("/api/v4/", "/v1/")


def documented_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in document["paths"].items()
        if path.startswith(DIALECT_PREFIXES)
        for method, operation in operations.items()
    ]


def strict(schema: Any) -> Any:
    """The schema with every described object closed: a field the answer has and the document lacks fails."""
    if isinstance(schema, dict):
        closed = {key: strict(value) for key, value in schema.items()}
        if "properties" in closed and "additionalProperties" not in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


class Answers:
    """Checks answers against a document, and remembers which operations and statuses were checked."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.components = strict(copy.deepcopy(document["components"]))
        self.templates = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path) for path in document["paths"]
        ]
        self.checked: set[tuple[str, str, int]] = set()

    def check(self, response: httpx.Response) -> httpx.Response:
        method = response.request.method.lower()
        path = response.request.url.path
        template = next(
            t for pattern, t in self.templates if pattern.match(path) and method in self.document["paths"][t]
        )
        documented = self.document["paths"][template][method]["responses"]
        status = str(response.status_code)
        assert status in documented, (method, template, status, response.text)
        answer = documented[status]
        for header in answer.get("headers", {}):
            assert header in response.headers, (method, template, status, header)
        if "content" not in answer:
            assert response.content == b"", (method, template, status)
        elif "text/csv" in answer["content"]:
            assert response.headers["content-type"].startswith("text/csv"), (method, template, status)
        else:
            schema = answer["content"]["application/json"]["schema"]
            validator = Draft202012Validator({**strict(schema), "components": self.components})
            # Repeated keys (the partner's errors) are read as a parser keeps them: the last one wins.
            body = json.loads(response.text)
            problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
            assert not problems, (method, template, status, problems, body)
        self.checked.add((method, template, response.status_code))
        return response


@pytest.fixture
def answer_settings(tmp_path: Path) -> Settings:
    return importing_settings(
        tmp_path,
        connect_timeout=5,
        max_body_size=4096,
        auth_failures_per_address="3/minute",
        chartmogul_rate_limit="20/minute",
    )


@pytest.fixture
async def live(answer_settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app(answer_settings) as pair:
        yield pair


async def test_both_documents_are_valid_openapi_3_1(live: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = live
    for url in ("/openapi.json", "/prod/openapi.json"):
        response = await client.get(url)
        assert response.status_code == 200
        document = response.json()
        assert document["openapi"].startswith("3.1")
        validate(document)


async def test_no_dialect_operation_describes_an_answer_it_never_sends(
    live: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = live
    document = (await client.get("/openapi.json")).json()
    operations = documented_operations(document)
    assert len(operations) >= 20
    assert "HTTPValidationError" not in json.dumps(document)
    for method, path, operation in operations:
        responses = operation["responses"]
        [success] = [status for status in responses if status.startswith("2")]
        if success == "204":
            assert "content" not in responses[success], (method, path)
        elif path.endswith(".csv"):
            assert responses[success]["content"]["text/csv"]["schema"]["type"] == "string", path
        else:
            schema = responses[success]["content"]["application/json"]["schema"]
            assert schema and schema != {}, (method, path)
        # Only ChartMogul's own field errors are a 422, and only where a body is read.
        if "422" in responses:
            assert path.startswith("/v1/") and "requestBody" in operation, (method, path)
            assert responses["422"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ChartMogulFieldErrors"
            }
        for status, answer in responses.items():
            if status.startswith(("4", "5")):
                assert answer["content"]["application/json"]["schema"]["$ref"].endswith(
                    ("/PartnerErrors", "/ChartMogulError", "/ChartMogulFieldErrors")
                ), (method, path, status)


@pytest.mark.servers
async def test_real_partner_answers_validate_against_the_document(
    live: tuple[FastAPI, httpx.AsyncClient], sftp_server: SftpServerInfo
) -> None:
    app, client = live
    answers = Answers((await client.get("/openapi.json")).json())
    tenancy = await make_tenancy(app.state.runtime)
    partner = Partner(client, tenancy)
    call = partner.call
    sftp_server.put("in/sales.csv", SALES)
    fields = {
        **login_fields(sftp_server, "SFTP", password=sftp_server.password),
        "workingDirectory": "/in",
        "processorType": 25011,
        "fileImportType": "PARTY",
        "authenticationType": "PASSWORD",
        "touchpointCode": partner.code,
        "schedule": 3600,
    }

    login = {"principal": tenancy.principal, "password": tenancy.password}
    answers.check(await client.post("/api/v4/login", headers=partner.headers, json=login))
    answers.check(await client.get("/api/v4/me", headers=partner.headers))
    created = answers.check(await call("POST", "/partner/datasources", json=fields))
    source_id = created.json()["datasource"]["id"]
    answers.check(await call("GET", "/partner/datasources"))
    answers.check(await call("GET", f"/partner/datasources/{source_id}"))
    answers.check(await call("PUT", f"/partner/datasources/{source_id}", json={**fields, "name": "shop"}))
    answers.check(await call("POST", "/partner/datasources/test", json=fields))
    answers.check(await call("POST", f"/partner/datasources/{source_id}/test"))
    answers.check(await call("POST", f"/partner/datasources/{source_id}/run"))
    await wait_idle(app)
    answers.check(await call("GET", f"/partner/datasources/{source_id}/runs"))
    imported = answers.check(await call("GET", f"/partner/datasources/{source_id}/imports"))
    file_id = imported.json()["imports"][0]["id"]
    errors = answers.check(await call("GET", f"/partner/datasources/{source_id}/imports/{file_id}/errors"))
    assert errors.json()["importErrors"], "the sample has a bad row"
    answers.check(await call("GET", f"/partner/datasources/{source_id}/imports/{file_id}/errors.csv"))
    answers.check(await call("GET", f"/partner/datasources/{source_id}"))  # with its last run
    answers.check(await call("POST", f"/partner/datasources/{source_id}/imports/{file_id}/reimport"))
    await wait_idle(app)
    answers.check(await call("POST", f"/partner/datasources/{source_id}/reimport"))
    await wait_idle(app)
    answers.check(await call("POST", f"/partner/datasources/{source_id}/host-key/reset"))
    uploaded = answers.check(
        await call(
            "POST", "/import/file", params={"name": "s.csv", "type": 25011}, files={"file": ("s.csv", SALES)}
        )
    )
    upload_source = uploaded.json()["partnerDatasourceId"]
    answers.check(await call("GET", f"/partner/datasources/{upload_source}"))

    # Errors, each in the dialect's shape and under a documented status.
    answers.check(await call("POST", "/partner/datasources", json={"dataSourceType": "SFTP"}))
    answers.check(await call("POST", "/partner/datasources", content=b"{"))
    answers.check(
        await client.post(
            "/api/v4/partner/datasources",
            content=b"host=x",
            headers={**partner.headers, "Content-Type": "text/plain"},
            auth=partner.auth,
        )
    )
    answers.check(await call("POST", "/partner/datasources", json={"name": "x" * 5000}))
    answers.check(await call("POST", f"/partner/datasources/{upload_source}/reimport"))
    answers.check(await call("GET", f"/partner/datasources/{source_id}/runs", params={"maxNumRows": 0}))
    answers.check(await call("GET", "/partner/datasources/999999"))
    answers.check(await call("GET", f"/partner/datasources/{source_id}/imports/999999/errors"))
    answers.check(await client.get("/api/v4/partner/datasources", headers=partner.headers))
    hook = answers.check(
        await call("POST", "/partner/webhooks", json={"url": "http://127.0.0.1:9/hooks", "events": ["*"]})
    ).json()["webhook"]
    answers.check(await call("GET", "/partner/webhooks"))
    answers.check(await call("GET", f"/partner/webhooks/{hook['id']}"))
    answers.check(await call("PUT", f"/partner/webhooks/{hook['id']}", json={"description": "ERP"}))
    answers.check(await call("POST", f"/partner/webhooks/{hook['id']}/rotate-secret"))
    answers.check(await call("GET", f"/partner/webhooks/{hook['id']}/deliveries"))
    answers.check(await call("POST", f"/partner/webhooks/{hook['id']}/deliveries/999999/redeliver"))
    answers.check(await call("POST", "/partner/webhooks", json={"url": "ftp://example.com/"}))
    answers.check(await call("DELETE", f"/partner/webhooks/{hook['id']}"))
    answers.check(await call("DELETE", f"/partner/datasources/{source_id}"))
    answers.check(await client.get("/api/v4/logout", headers=partner.headers))
    wrong = {**partner.headers, "Thalamus-Token": "wrong"}
    refused = [await client.get("/api/v4/me", headers=wrong) for _ in range(5)]
    for response in refused:
        answers.check(response)
    assert {r.status_code for r in refused} == {401, 429}

    statuses = {status for _, _, status in answers.checked}
    assert statuses >= {200, 201, 202, 204, 400, 401, 404, 413, 415, 429}
    documented = {(method, path) for method, path, _ in documented_operations(answers.document)}
    seen = {(method, path) for method, path, _ in answers.checked}
    assert {op for op in documented if op[1].startswith("/api/v4/")} <= seen


async def test_real_data_sources_answers_validate_against_the_document(
    live: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = live
    answers = Answers((await client.get("/openapi.json")).json())
    _, key = await new_tenant_key(app, "acme")
    client.auth = httpx.BasicAuth(key, "")
    every_part = {
        "with_processing_status": "true",
        "with_auto_churn_subscription_setting": "true",
        "with_invoice_handling_setting": "true",
    }

    answers.check(await client.get("/v1/ping"))
    created = answers.check(await client.post("/v1/data_sources", json={"name": "In-house billing"}))
    uuid = created.json()["uuid"]
    answers.check(await client.get("/v1/data_sources"))
    answers.check(await client.get("/v1/data_sources", params=every_part))
    answers.check(await client.get(f"/v1/data_sources/{uuid}", params=every_part))

    answers.check(await client.post("/v1/data_sources", json={"name": ""}))
    answers.check(await client.post("/v1/data_sources", json={"name": "In-house billing"}))
    answers.check(await client.post("/v1/data_sources", json={}))
    answers.check(await client.post("/v1/data_sources", content=b"[1]"))
    answers.check(await client.post("/v1/data_sources", json={"name": "x" * 5000}))
    answers.check(await client.get("/v1/data_sources", params={"with_processing_status": "perhaps"}))
    answers.check(await client.get("/v1/data_sources/ds_unknown"))
    answers.check(await client.get("/v1/ping", auth=httpx.BasicAuth("wrong", "")))
    answers.check(await client.delete(f"/v1/data_sources/{uuid}"))
    answers.check(await client.delete(f"/v1/data_sources/{uuid}"))
    limited = [await client.get("/v1/ping") for _ in range(20)]
    assert limited[-1].status_code == 429
    answers.check(limited[-1])

    statuses = {status for _, _, status in answers.checked}
    assert statuses >= {200, 201, 204, 400, 401, 404, 413, 422, 429}
    documented = {(method, path) for method, path, _ in documented_operations(answers.document)}
    seen = {(method, path) for method, path, _ in answers.checked}
    assert {op for op in documented if op[1].startswith("/v1/")} <= seen
