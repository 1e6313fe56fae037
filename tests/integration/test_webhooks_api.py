"""Webhook endpoints through the partner API (``/api/v4/partner/webhooks``) and the integration API
(``/prod/webhookEndpoints``), each in its own conventions."""

from __future__ import annotations

import io
from pathlib import Path

from headwater.ingest.uploads import import_upload
from tests.conftest import AppClient, make_settings, running_app, runtime_of
from tests.integration.integration_support import add_tenant, connect, is_message
from tests.integration.partner_support import Caller, error_members, provision

HOOKS = "/api/v4/partner/webhooks"
URL = "https://hooks.partner.example/headwater"


def _auth(caller: Caller) -> dict[str, object]:
    return {"headers": caller.touchpoint_headers, "auth": caller.basic}


async def test_a_partner_registers_lists_changes_rotates_and_removes_an_endpoint(
    app_client: AppClient,
) -> None:
    app, http = app_client
    caller = await provision(runtime_of(app))

    created = await http.post(HOOKS, json={"url": URL, "events": ["file.imported"], "x": 1}, **_auth(caller))
    assert created.status_code == 201, created.text
    webhook = created.json()["webhook"]
    assert webhook["secret"].startswith("whsec_")
    assert (webhook["url"], webhook["events"], webhook["active"], webhook["disabledReason"]) == (
        URL,
        ["file.imported"],
        True,
        None,
    )
    assert isinstance(webhook["createdAt"], int)
    path = f"{HOOKS}/{webhook['id']}"

    listed = (await http.get(HOOKS, **_auth(caller))).json()["webhooks"]
    assert [w["id"] for w in listed] == [webhook["id"]] and "secret" not in listed[0]
    assert "secret" not in (await http.get(path, **_auth(caller))).json()["webhook"]

    changed = await http.put(path, json={"events": ["*"], "description": "ERP"}, **_auth(caller))
    assert changed.status_code == 200, changed.text
    assert (changed.json()["webhook"]["events"], changed.json()["webhook"]["description"]) == (["*"], "ERP")

    rotated = (await http.post(f"{path}/rotate-secret", **_auth(caller))).json()["webhook"]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != webhook["secret"]

    assert (await http.get(f"{path}/deliveries", **_auth(caller))).json() == {"deliveries": []}
    assert (await http.delete(path, **_auth(caller))).status_code == 204
    gone = await http.get(path, **_auth(caller))
    assert (gone.status_code, error_members(gone)) == (404, [("webhook", "NotFound")])


async def test_partner_mistakes_answer_in_the_partner_style(app_client: AppClient) -> None:
    app, http = app_client
    caller = await provision(runtime_of(app))

    async def problem(body: dict[str, object]) -> tuple[int, list[tuple[str, str]]]:
        answer = await http.post(HOOKS, json=body, **_auth(caller))
        return answer.status_code, error_members(answer)

    assert await problem({}) == (400, [("webhook", "UrlRequired")])
    assert await problem({"url": "ftp://files.example/"}) == (400, [("webhook", "InvalidUrl")])
    assert await problem({"url": "https://user:pw@hooks.example/"}) == (400, [("webhook", "InvalidUrl")])
    assert await problem({"url": "https://hooks.example:99999/"}) == (400, [("webhook", "InvalidUrl")])
    assert await problem({"url": URL, "events": ["run.exploded"]}) == (400, [("webhook", "InvalidEvent")])
    assert await problem({"url": URL, "events": "run.failed"}) == (400, [("webhook", "InvalidEvent")])
    assert await problem({"url": URL, "active": "yes"}) == (400, [("webhook", "InvalidActive")])
    unauthenticated = await http.get(HOOKS, headers=caller.touchpoint_headers)
    assert unauthenticated.status_code == 401


async def test_a_private_address_is_refused_at_creation(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, allow_private_hosts=False)
    async with running_app(settings) as (app, http):
        caller = await provision(runtime_of(app))
        for url in ("http://127.0.0.1:8080/hook", "http://169.254.169.254/latest", "http://[::1]/x"):
            refused = await http.post(HOOKS, json={"url": url}, **_auth(caller))
            assert (refused.status_code, error_members(refused)) == (400, [("webhook", "HostNotAllowed")])
        await add_tenant(runtime_of(app), "prod-area")
        client = await connect(app, http, "prod-area")
        answer = await client.send("POST", "/webhookEndpoints", {"url": "http://10.0.0.8/hook"})
        assert is_message(answer, "host_not_allowed")


async def test_a_partner_sees_and_touches_only_its_tenants_endpoints(app_client: AppClient) -> None:
    app, http = app_client
    mine = await provision(runtime_of(app))
    theirs = await provision(runtime_of(app), "globex", code="other", principal="p@globex.example")
    created = (await http.post(HOOKS, json={"url": URL}, **_auth(theirs))).json()["webhook"]
    path = f"{HOOKS}/{created['id']}"

    assert (await http.get(HOOKS, **_auth(mine))).json() == {"webhooks": []}
    for method in ("GET", "PUT", "DELETE"):
        body = {"json": {"active": False}} if method == "PUT" else {}
        answer = await http.request(method, path, **_auth(mine), **body)  # type: ignore[arg-type]
        assert (answer.status_code, error_members(answer)) == (404, [("webhook", "NotFound")])
    for suffix in ("/deliveries", "/rotate-secret"):
        method = "GET" if suffix == "/deliveries" else "POST"
        answer = await http.request(method, path + suffix, **_auth(mine))  # type: ignore[arg-type]
        assert answer.status_code == 404
    assert (await http.get(path, **_auth(theirs))).json()["webhook"]["active"] is True


async def test_a_delivery_is_listed_and_sent_again_through_the_partner_api(app_client: AppClient) -> None:
    app, http = app_client
    runtime = runtime_of(app)
    caller = await provision(runtime)
    created = (await http.post(HOOKS, json={"url": URL, "events": ["file.imported"]}, **_auth(caller))).json()
    path = f"{HOOKS}/{created['webhook']['id']}"
    data = io.BytesIO(b"saleDate,transactionId,quantity,amount,partnerSkuCode\n2026-01-02,T1,1,1,SKU-1\n")
    await import_upload(
        runtime, caller.tenant_id, source_id=None, name="s.csv", processor_type=25011, data=data
    )

    [delivery] = (await http.get(f"{path}/deliveries", **_auth(caller))).json()["deliveries"]
    assert (delivery["eventType"], delivery["state"], delivery["attempts"], delivery["log"]) == (
        "file.imported",
        "pending",
        0,
        [],
    )
    assert delivery["eventId"].startswith("msg_")
    again = await http.post(f"{path}/deliveries/{delivery['id']}/redeliver", **_auth(caller))
    assert (again.status_code, again.json()["delivery"]["state"]) == (202, "pending")
    missing = await http.post(f"{path}/deliveries/{delivery['id'] + 100}/redeliver", **_auth(caller))
    assert (missing.status_code, error_members(missing)) == (404, [("webhookDelivery", "NotFound")])


async def test_the_integration_api_manages_endpoints_in_its_conventions(app_client: AppClient) -> None:
    app, http = app_client
    await add_tenant(runtime_of(app), "area-one")
    await add_tenant(runtime_of(app), "area-two")
    client = await connect(app, http, "area-one")
    other = await connect(app, http, "area-two")

    created = await client.send("POST", "/webhookEndpoints", {"url": URL, "events": ["run.failed"]})
    assert created["secret"].startswith("whsec_") and "disabledReason" not in created
    assert created["createdAt"].endswith("Z")
    one = f"/webhookEndpoints/{created['id']}"
    assert [e["id"] for e in await client.get("/webhookEndpoints")] == [created["id"]]
    assert "secret" not in await client.get(one)
    patched = await client.send("PATCH", one, {"active": False})
    assert patched["active"] is False
    assert (await client.send("POST", one + "/rotateSecret", {}))["secret"] != created["secret"]
    assert await client.get(one + "/deliveries") == []

    assert is_message(await client.send("POST", "/webhookEndpoints", {}), "missing_url")
    assert is_message(await client.send("POST", "/webhookEndpoints", {"url": "mailto:x@y"}), "invalid_url")
    assert is_message(
        await client.send("POST", "/webhookEndpoints", {"url": URL, "events": ["nope"]}), "invalid_event"
    )
    assert await other.get("/webhookEndpoints") == []
    assert is_message(await other.get(one), "not_found_Webhook")

    removed = await client.send("DELETE", one, None)
    assert removed["id"] == created["id"]
    assert is_message(await client.get(one), "not_found_Webhook")
