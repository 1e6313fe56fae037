"""The data sources API (/v1) over raw HTTP: ChartMogul's shapes, field by field, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from headwater import sources
from headwater.access import apikeys
from headwater.clock import utcnow
from headwater.ingest.connectors.hosts import HostPolicy
from headwater.runtime import Runtime
from headwater.store import sources as source_store
from headwater.store.tables import ImportFile, Tenant, Touchpoint
from tests.conftest import make_settings, running_app, runtime_of

UUID = re.compile(r"^ds_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ISO_MILLIS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
SOURCE_KEYS = {"uuid", "name", "system", "created_at", "status"}
UNAUTHORIZED = {"code": 401, "message": "No valid API key provided", "param": None}
NOT_FOUND = {"code": 404, "message": "Data source not found", "param": None}
INVOICE_HANDLING = {
    "create_subscription_when_invoice_is": "open",
    "update_subscription_when_invoice_is": "open",
    "prevent_subscription_for_invoice_voided": True,
    "prevent_subscription_for_invoice_refunded": False,
    "prevent_subscription_for_invoice_written_off": True,
}


async def new_tenant_key(app: FastAPI, name: str) -> tuple[int, str]:
    runtime = runtime_of(app)
    async with runtime.db.session() as session:
        tenant = Tenant(name=name, created_at=utcnow())
        session.add(tenant)
        await session.flush()
        issued = await apikeys.issue(session, runtime.box, tenant.id)
    return tenant.id, issued.key


@pytest.fixture
async def api(app_client: tuple[FastAPI, httpx.AsyncClient]) -> tuple[FastAPI, httpx.AsyncClient, int]:
    """The app, and a client that authenticates as the tenant ``acme``."""
    app, client = app_client
    tenant_id, key = await new_tenant_key(app, "acme")
    client.auth = httpx.BasicAuth(key, "")
    return app, client, tenant_id


async def create(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    response = await client.post("/v1/data_sources", json={"name": name})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_ping_answers_pong(api: tuple[FastAPI, httpx.AsyncClient, int]) -> None:
    _, client, _ = api
    response = await client.get("/v1/ping")
    assert response.status_code == 200
    assert response.json() == {"data": "pong!"}


async def test_the_key_repeated_as_password_is_accepted(api: tuple[FastAPI, httpx.AsyncClient, int]) -> None:
    app, client, _ = api
    _, key = await new_tenant_key(app, "beta")
    assert (await client.get("/v1/ping", auth=(key, key))).status_code == 200


async def test_a_password_other_than_the_key_is_refused(api: tuple[FastAPI, httpx.AsyncClient, int]) -> None:
    app, client, _ = api
    _, key = await new_tenant_key(app, "beta")
    response = await client.get("/v1/ping", auth=(key, "not-the-key"))
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        basic("hwk_not-a-key"),
        "Bearer something",
        "Basic !!!not-base64!!!",
        "Basic",
    ],
    ids=["missing", "unknown-key", "bearer", "garbage", "empty-basic"],
)
async def test_requests_without_a_valid_key_get_401_in_chartmogul_format(
    api: tuple[FastAPI, httpx.AsyncClient, int], authorization: str | None
) -> None:
    _, client, _ = api
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in (("GET", "/v1/ping"), ("GET", "/v1/data_sources"), ("POST", "/v1/data_sources")):
        request = client.build_request(method, path, headers=headers, json={"name": "x"})
        response = await client.send(request, auth=None)
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED
        assert response.headers["WWW-Authenticate"] == 'Basic realm="headwater"'


async def test_create_answers_201_with_the_contract_fields(
    api: tuple[FastAPI, httpx.AsyncClient, int],
) -> None:
    _, client, _ = api
    response = await client.post("/v1/data_sources", json={"name": "In-house billing"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == SOURCE_KEYS
    assert UUID.match(body["uuid"])
    assert body["name"] == "In-house billing"
    assert body["system"] == "Custom"
    assert ISO_MILLIS.match(body["created_at"])
    assert body["status"] == "idle"


async def test_create_ignores_unknown_fields(api: tuple[FastAPI, httpx.AsyncClient, int]) -> None:
    _, client, _ = api
    response = await client.post(
        "/v1/data_sources", json={"name": "Billing", "system": "Stripe", "uuid": "ds_mine", "extra": [1]}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["system"] == "Custom"
    assert body["uuid"] != "ds_mine"


async def test_create_reads_json_sent_without_a_content_type(
    api: tuple[FastAPI, httpx.AsyncClient, int],
) -> None:
    _, client, _ = api
    response = await client.post("/v1/data_sources", content=b'{"name": "Plain"}')
    assert response.status_code == 201
    assert response.json()["name"] == "Plain"


@pytest.mark.parametrize("body", [{}, {"other": "x"}, None], ids=["empty-object", "other-field", "no-body"])
async def test_create_without_a_name_is_400_parameter_missing(
    api: tuple[FastAPI, httpx.AsyncClient, int], body: dict[str, Any] | None
) -> None:
    _, client, _ = api
    response = await client.post("/v1/data_sources", **({} if body is None else {"json": body}))
    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": 'Parameter "name" is missing', "param": "name"}


@pytest.mark.parametrize("name", [None, "", "   "], ids=["null", "empty", "blank"])
async def test_create_with_a_null_or_empty_name_is_422(
    api: tuple[FastAPI, httpx.AsyncClient, int], name: str | None
) -> None:
    _, client, _ = api
    response = await client.post("/v1/data_sources", json={"name": name})
    assert response.status_code == 422
    assert response.json() == {"errors": {"name": "A name is required for each data source."}}


async def test_create_with_a_taken_name_is_422(api: tuple[FastAPI, httpx.AsyncClient, int]) -> None:
    _, client, _ = api
    await create(client, "Billing")
    response = await client.post("/v1/data_sources", json={"name": "Billing"})
    assert response.status_code == 422
    assert response.json() == {"errors": {"name": "Has already been taken."}}


@pytest.mark.parametrize(
    "name",
    [12, ["a"], {"a": 1}, True, "x" * 501, "nul\x00inside", "lone \ud800 surrogate"],
    ids=["number", "list", "object", "boolean", "too-long", "nul", "surrogate"],
)
async def test_create_with_a_name_that_is_not_storable_text_is_422(
    api: tuple[FastAPI, httpx.AsyncClient, int], name: object
) -> None:
    _, client, _ = api
    content = json.dumps({"name": name}).encode()
    response = await client.post("/v1/data_sources", content=content)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["name"]


@pytest.mark.parametrize(
    "content",
    [b"{", b"[1, 2]", b'"name"', b"\xff\xfe{}", b"[" * 100_000 + b"]" * 100_000, b"nan"],
    ids=["truncated", "array", "string", "bad-bytes", "deep", "not-json"],
)
async def test_malformed_json_is_400_in_chartmogul_format(
    api: tuple[FastAPI, httpx.AsyncClient, int], content: bytes
) -> None:
    _, client, _ = api
    response = await client.post(
        "/v1/data_sources", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "param"}
    assert body["code"] == 400
    assert body["param"] is None


async def test_list_answers_only_the_data_sources_key(api: tuple[FastAPI, httpx.AsyncClient, int]) -> None:
    _, client, _ = api
    first = await create(client, "One")
    second = await create(client, "Two")
    response = await client.get("/v1/data_sources")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["data_sources"]
    assert body["data_sources"] == [first, second]


async def test_list_of_a_new_tenant_is_empty(api: tuple[FastAPI, httpx.AsyncClient, int]) -> None:
    _, client, _ = api
    response = await client.get("/v1/data_sources")
    assert response.json() == {"data_sources": []}


async def test_list_filters_by_name_and_system(api: tuple[FastAPI, httpx.AsyncClient, int]) -> None:
    app, client, tenant_id = api
    one = await create(client, "One")
    await create(client, "Two")
    sftp = await add_pull_source(runtime_of(app), tenant_id, "Partner drop")

    by_name = (await client.get("/v1/data_sources", params={"name": "One"})).json()
    assert by_name == {"data_sources": [one]}
    custom = (await client.get("/v1/data_sources", params={"system": "Custom"})).json()
    assert [s["name"] for s in custom["data_sources"]] == ["One", "Two"]
    by_system = (await client.get("/v1/data_sources", params={"system": "SFTP"})).json()
    assert [s["uuid"] for s in by_system["data_sources"]] == [sftp]
    both = (await client.get("/v1/data_sources", params={"name": "One", "system": "SFTP"})).json()
    assert both == {"data_sources": []}
    nothing = (await client.get("/v1/data_sources", params={"name": "nul\x00"})).json()
    assert nothing == {"data_sources": []}


async def test_flags_add_processing_status_and_the_default_settings(
    api: tuple[FastAPI, httpx.AsyncClient, int],
) -> None:
    _, client, _ = api
    created = await create(client, "One")
    params = {
        "with_processing_status": "true",
        "with_auto_churn_subscription_setting": "true",
        "with_invoice_handling_setting": "true",
    }
    listed = (await client.get("/v1/data_sources", params=params)).json()["data_sources"][0]
    retrieved = (await client.get(f"/v1/data_sources/{created['uuid']}", params=params)).json()
    for shown in (listed, retrieved):
        assert shown == {
            **created,
            "processing_status": {"processed": 0, "failed": 0, "pending": 0},
            "auto_churn_subscription_setting": {"enabled": False, "interval": None},
            "invoice_handling_setting": {"manual": INVOICE_HANDLING, "automatic": INVOICE_HANDLING},
        }


@pytest.mark.parametrize(
    ("flag", "key"),
    [
        ("with_processing_status", "processing_status"),
        ("with_auto_churn_subscription_setting", "auto_churn_subscription_setting"),
        ("with_invoice_handling_setting", "invoice_handling_setting"),
    ],
)
async def test_each_flag_adds_only_its_own_object(
    api: tuple[FastAPI, httpx.AsyncClient, int], flag: str, key: str
) -> None:
    _, client, _ = api
    created = await create(client, "One")
    listed = (await client.get("/v1/data_sources", params={flag: "true"})).json()["data_sources"][0]
    assert set(listed) == SOURCE_KEYS | {key}
    off = (await client.get(f"/v1/data_sources/{created['uuid']}", params={flag: "false"})).json()
    assert set(off) == SOURCE_KEYS


async def test_processing_status_counts_the_source_files(api: tuple[FastAPI, httpx.AsyncClient, int]) -> None:
    app, client, tenant_id = api
    created = await create(client, "Uploads")
    runtime = runtime_of(app)
    async with runtime.db.session() as session:
        source = await source_store.get_by_uuid(session, tenant_id, created["uuid"])
        for n, state in enumerate(["imported", "imported", "failed", "rolledback"]):
            session.add(
                ImportFile(
                    tenant_id=tenant_id,
                    data_source_id=source.id,
                    path=f"/f{n}.csv",
                    name=f"f{n}.csv",
                    state=state,
                    created_at=utcnow(),
                )
            )
    response = await client.get(f"/v1/data_sources/{created['uuid']}?with_processing_status=true")
    assert response.json()["processing_status"] == {"processed": 2, "failed": 1, "pending": 1}


@pytest.mark.parametrize("value", ["maybe", "2", ""])
async def test_a_flag_that_is_not_a_boolean_is_400(
    api: tuple[FastAPI, httpx.AsyncClient, int], value: str
) -> None:
    _, client, _ = api
    response = await client.get("/v1/data_sources", params={"with_processing_status": value})
    assert response.status_code == 400
    assert response.json() == {
        "code": 400,
        "message": 'Parameter "with_processing_status" is invalid',
        "param": "with_processing_status",
    }


async def test_retrieve_answers_the_source(api: tuple[FastAPI, httpx.AsyncClient, int]) -> None:
    _, client, _ = api
    created = await create(client, "One")
    response = await client.get(f"/v1/data_sources/{created['uuid']}")
    assert response.status_code == 200
    assert response.json() == created


@pytest.mark.parametrize(
    "uuid",
    ["ds_00000000-0000-4000-8000-000000000000", "nonsense", "nul%00byte", "x" * 300],
    ids=["unknown", "nonsense", "nul", "too-long"],
)
async def test_retrieve_and_delete_of_an_unknown_source_are_404(
    api: tuple[FastAPI, httpx.AsyncClient, int], uuid: str
) -> None:
    _, client, _ = api
    for method in ("GET", "DELETE"):
        response = await client.request(method, f"/v1/data_sources/{uuid}")
        assert response.status_code == 404
        assert response.json() == NOT_FOUND


async def test_delete_answers_204_with_an_empty_body(api: tuple[FastAPI, httpx.AsyncClient, int]) -> None:
    _, client, _ = api
    created = await create(client, "One")
    response = await client.delete(f"/v1/data_sources/{created['uuid']}")
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"/v1/data_sources/{created['uuid']}")).status_code == 404
    assert (await client.get("/v1/data_sources")).json() == {"data_sources": []}


async def test_a_deleted_name_can_be_used_again(api: tuple[FastAPI, httpx.AsyncClient, int]) -> None:
    _, client, _ = api
    created = await create(client, "One")
    await client.delete(f"/v1/data_sources/{created['uuid']}")
    again = await create(client, "One")
    assert again["uuid"] != created["uuid"]


async def test_tenants_see_only_their_own_sources(api: tuple[FastAPI, httpx.AsyncClient, int]) -> None:
    app, client, _ = api
    _, other_key = await new_tenant_key(app, "beta")
    other = httpx.BasicAuth(other_key, "")
    mine = await create(client, "Shared name")

    assert (await client.get("/v1/data_sources", auth=other)).json() == {"data_sources": []}
    assert (await client.get(f"/v1/data_sources/{mine['uuid']}", auth=other)).status_code == 404
    assert (await client.delete(f"/v1/data_sources/{mine['uuid']}", auth=other)).status_code == 404
    theirs = await client.post("/v1/data_sources", json={"name": "Shared name"}, auth=other)
    assert theirs.status_code == 201

    mine_listed = (await client.get("/v1/data_sources")).json()["data_sources"]
    assert mine_listed == [mine]
    theirs_listed = (await client.get("/v1/data_sources", auth=other)).json()["data_sources"]
    assert theirs_listed == [theirs.json()]


async def test_a_revoked_key_is_refused(api: tuple[FastAPI, httpx.AsyncClient, int]) -> None:
    app, client, tenant_id = api
    runtime = runtime_of(app)
    async with runtime.db.session() as session:
        issued = await apikeys.issue(session, runtime.box, tenant_id)
    assert (await client.get("/v1/ping", auth=(issued.key, ""))).status_code == 200
    async with runtime.db.session() as session:
        await apikeys.revoke(session, runtime.box, issued.key)
    response = await client.get("/v1/ping", auth=(issued.key, ""))
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert (await client.get("/v1/ping")).status_code == 200  # the tenant's other key still works


async def add_pull_source(runtime: Runtime, tenant_id: int, name: str) -> str:
    async with runtime.db.session() as session:
        session.add(
            Touchpoint(
                tenant_id=tenant_id,
                code="drop",
                token_digest=f"digest-{tenant_id}",
                token_hash="unused",
                created_at=utcnow(),
            )
        )
        await session.flush()
        source = await sources.create_pull_source(
            session,
            tenant_id,
            {
                "name": name,
                "host": "sftp.example.com",
                "user": "partner",
                "password": "secret",
                "workingDirectory": "/outgoing",
                "processorType": 25011,
                "authenticationType": "PASSWORD",
                "dataSourceType": "SFTP",
                "touchpointCode": "drop",
            },
            runtime.box,
            hosts=HostPolicy.from_settings(runtime.settings),
        )
        return source.uuid


async def test_pull_sources_are_listed_with_their_type_and_run_status(
    api: tuple[FastAPI, httpx.AsyncClient, int],
) -> None:
    app, client, tenant_id = api
    runtime = runtime_of(app)
    uuid = await add_pull_source(runtime, tenant_id, "Partner drop")
    listed = (await client.get("/v1/data_sources")).json()["data_sources"]
    assert len(listed) == 1
    shown = listed[0]
    assert set(shown) == SOURCE_KEYS
    assert shown["uuid"] == uuid
    assert shown["name"] == "Partner drop"
    assert shown["system"] == "SFTP"
    assert shown["status"] == "idle"
    assert ISO_MILLIS.match(shown["created_at"])

    async with runtime.db.session() as session:
        source = await source_store.get_by_uuid(session, tenant_id, uuid)
        await source_store.set_status(session, tenant_id, source.id, status="working")
    assert (await client.get(f"/v1/data_sources/{uuid}")).json()["status"] == "working"


async def test_unknown_paths_under_v1_answer_404_in_chartmogul_format(
    api: tuple[FastAPI, httpx.AsyncClient, int],
) -> None:
    _, client, _ = api
    response = await client.get("/v1/customers")
    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "Not found", "param": None}


async def test_more_requests_than_the_budget_get_429_with_retry_after(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}"
    settings = make_settings(tmp_path, url, chartmogul_rate_limit="2/minute")
    async with running_app(settings) as (app, client):
        _, key = await new_tenant_key(app, "acme")
        _, other_key = await new_tenant_key(app, "beta")
        client.auth = httpx.BasicAuth(key, "")
        assert (await client.get("/v1/ping")).status_code == 200
        assert (await client.get("/v1/data_sources")).status_code == 200
        response = await client.get("/v1/ping")
        assert response.status_code == 429
        assert response.json() == {
            "code": 429,
            "message": "Your request rate has exceeded our rate limit.",
            "param": None,
        }
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        # Another tenant has its own budget.
        assert (await client.get("/v1/ping", auth=(other_key, ""))).status_code == 200
