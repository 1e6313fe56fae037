"""The integration API's gate: tokens, area keys, grants, revocation, limits and tenant isolation."""

from __future__ import annotations

import base64
from datetime import timedelta

import httpx
import jwt

from headwater.access import oauth
from headwater.clock import utcnow
from tests.conftest import AppClient, runtime_of
from tests.integration.integration_support import (
    PULL_SOURCE,
    IntegrationClient,
    add_area_key,
    add_client,
    add_tenant,
    connect,
    is_message,
    seed_sales,
)


async def test_the_token_server_follows_rfc_6749(app_client: AppClient) -> None:
    app, http = app_client
    await add_tenant(runtime_of(app), "acme")
    issued = await add_client(runtime_of(app), "acme")
    basic = httpx.BasicAuth(issued.client_id, issued.secret)
    grant = {"grant_type": "client_credentials"}

    ok = await http.post("/oauth2/token", auth=basic, data=grant)
    assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"
    answer = ok.json()
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 3600 and answer["access_token"]
    in_form = await http.post(
        "/oauth2/token", data={**grant, "client_id": issued.client_id, "client_secret": issued.secret}
    )
    assert in_form.status_code == 200

    wrong = await http.post("/oauth2/token", auth=httpx.BasicAuth(issued.client_id, "nope"), data=grant)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    unknown = await http.post("/oauth2/token", auth=httpx.BasicAuth("hwc_unknown", issued.secret), data=grant)
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    anonymous = await http.post("/oauth2/token", data=grant)
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"

    password = await http.post("/oauth2/token", auth=basic, data={"grant_type": "password"})
    assert password.status_code == 400 and password.json()["error"] == "unsupported_grant_type"
    for bad in ({}, {"grant_type": ""}):
        missing = await http.post("/oauth2/token", auth=basic, data=bad)
        assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    garbled = await http.post("/oauth2/token", headers={"Authorization": "Basic %%%"}, data=grant)
    assert garbled.status_code == 400 and garbled.json()["error"] == "invalid_request"
    twice = await http.post("/oauth2/token", auth=basic, data={**grant, "client_id": issued.client_id})
    assert twice.status_code == 400 and twice.json()["error"] == "invalid_request"
    as_json = await http.post("/oauth2/token", auth=basic, json=grant)
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"


async def test_requests_without_both_valid_credentials_are_refused_with_403(app_client: AppClient) -> None:
    app, http = app_client
    runtime = runtime_of(app)
    await add_tenant(runtime, "acme")
    client = await connect(app, http, "acme")
    assert client.token is not None
    foreign_token = jwt.encode(
        {"iss": "headwater", "sub": client.client_id, "iat": 0, "exp": 2**33},
        "a different key of thirty-two bytes or more",
        algorithm="HS256",
    )
    unsigned = jwt.encode({"iss": "headwater", "sub": client.client_id, "iat": 0, "exp": 2**33}, None, "none")
    refused = [
        {},
        {"x-api-key": client.api_key},
        {"Authorization": f"Bearer {client.token}"},
        {"Authorization": f"Bearer {client.token}", "x-api-key": "hwx_made_up"},
        {"Authorization": f"Bearer {client.token}", "x-api-key": ""},
        {"Authorization": "Bearer not-a-token", "x-api-key": client.api_key},
        {"Authorization": f"Bearer {foreign_token}", "x-api-key": client.api_key},
        {"Authorization": f"Bearer {unsigned}", "x-api-key": client.api_key},
        {"Authorization": f"Basic {base64.b64encode(b'a:b').decode()}", "x-api-key": client.api_key},
        {"Authorization": client.token, "x-api-key": client.api_key},
    ]
    for headers in refused:
        for method, path in (
            ("GET", "/prod/dataSources"),
            ("POST", "/prod/dataSources"),
            ("GET", "/prod/runs/1"),
        ):
            response = await http.request(method, path, headers=headers, json=PULL_SOURCE)
            assert response.status_code == 403, (headers, method, path)
            assert response.json() == {"message": "Forbidden"}
    assert (await http.get("/prod/dataSources", headers=client.headers)).status_code == 200


async def test_an_expired_token_is_refused(app_client: AppClient) -> None:
    app, http = app_client
    runtime = runtime_of(app)
    await add_tenant(runtime, "acme")
    client = await connect(app, http, "acme")
    stale = await oauth.issue_token(
        runtime.db,
        runtime.box,
        runtime.guard,
        client.client_id,
        client.secret,
        address="192.0.2.1",
        ttl_seconds=runtime.settings.token_ttl,
        now=utcnow() - timedelta(seconds=runtime.settings.token_ttl + 1),
    )
    client.token = stale.access_token
    assert (await client.request("GET", "/dataSources")).status_code == 403
    await client.authenticate()
    assert (await client.request("GET", "/dataSources")).status_code == 200


async def test_revoking_a_client_ends_its_tokens_at_once(app_client: AppClient) -> None:
    app, http = app_client
    runtime = runtime_of(app)
    await add_tenant(runtime, "acme")
    client = await connect(app, http, "acme")
    other = await connect(app, http, "acme", api_key=client.api_key)
    assert (await client.request("GET", "/dataSources")).status_code == 200

    async with runtime.db.session() as session:
        await oauth.revoke_client(session, client.client_id)
    assert (await client.request("GET", "/dataSources")).status_code == 403
    again = await http.post(
        "/oauth2/token",
        auth=httpx.BasicAuth(client.client_id, client.secret),
        data={"grant_type": "client_credentials"},
    )
    assert again.status_code == 401
    assert (await other.request("GET", "/dataSources")).status_code == 200, "other clients keep working"


async def test_a_client_uses_the_keys_of_the_tenants_it_is_granted_and_no_others(
    app_client: AppClient,
) -> None:
    app, http = app_client
    runtime = runtime_of(app)
    for name in ("acme", "globex", "initech"):
        await add_tenant(runtime, name)
    client = await connect(app, http, "acme", "globex")
    globex_key = await add_area_key(runtime, "globex")
    initech_key = await add_area_key(runtime, "initech")

    globex = await client.request("POST", "/dataSources", headers={"x-api-key": globex_key}, json=PULL_SOURCE)
    assert globex.status_code == 200 and "id" in globex.json()
    assert await client.get("/dataSources") == [], "the acme key reads acme's sources only"
    refused = await client.request("GET", "/dataSources", headers={"x-api-key": initech_key})
    assert refused.status_code == 403

    async with runtime.db.session() as session:
        granted = await oauth.grant_client(session, client.client_id, "initech")
    assert granted == ["acme", "globex", "initech"]
    assert (
        await client.request("GET", "/dataSources", headers={"x-api-key": initech_key})
    ).status_code == 200


async def test_a_client_of_tenant_a_reads_nothing_of_tenant_b(app_client: AppClient) -> None:
    app, http = app_client
    runtime = runtime_of(app)
    await add_tenant(runtime, "acme")
    b_id = await add_tenant(runtime, "globex")
    theirs = await seed_sales(runtime, b_id, 5)
    b_client = await connect(app, http, "globex")
    b_source = (await b_client.send("POST", "/dataSources", PULL_SOURCE))["id"]
    b_key = b_client.api_key
    a_client = await connect(app, http, "acme")

    for name in ("dataSources", "importFiles", "partnerSales", "runs", "importErrors", "persons"):
        assert await a_client.get(f"/{name}") == [], name
    assert await a_client.get("/partnerSales", dataSourceId=str(theirs.source_id)) == []
    assert await a_client.get("/importFiles", id=str(theirs.file_id)) == []
    for path, kind in (
        (f"/dataSources/{b_source}", "DataSource"),
        (f"/dataSources/{theirs.source_id}", "DataSource"),
        (f"/importFiles/{theirs.file_id}", "ImportFile"),
        (f"/partnerSales/{theirs.sale_ids[0]}", "PartnerSale"),
        (f"/dataSources/{theirs.source_id}/partnerSales", "DataSource"),
        (f"/importFiles/{theirs.file_id}/partnerSales", "ImportFile"),
    ):
        assert is_message(await a_client.get(path), f"not_found_{kind}"), path
    assert is_message(
        await a_client.send("PATCH", f"/dataSources/{b_source}", {"port": 22}), "not_found_DataSource"
    )
    assert is_message(
        await a_client.send("PUT", f"/dataSources/{b_source}/active", False), "not_found_DataSource"
    )
    for path in (f"/dataSources/{b_source}", "/partnerSales", f"/importFiles/{theirs.file_id}"):
        assert (await a_client.request("GET", path, headers={"x-api-key": b_key})).status_code == 403
    assert (await b_client.get(f"/dataSources/{b_source}"))["active"] is True, "B's source is untouched"


async def test_past_the_daily_limit_of_a_key_the_web_server_answers_429(app_client: AppClient) -> None:
    app, http = app_client
    runtime = runtime_of(app)
    await add_tenant(runtime, "acme")
    limited = await add_area_key(runtime, "acme", per_day=3)
    client = await connect(app, http, "acme", api_key=limited)
    unlimited = IntegrationClient(http, client.client_id, client.secret, await add_area_key(runtime, "acme"))
    unlimited.token = client.token

    for _ in range(3):
        assert (await client.request("GET", "/dataSources")).status_code == 200
    refused = await client.request("GET", "/dataSources")
    assert refused.status_code == 429
    assert refused.json() == {"message": "Too Many Requests"}
    assert 3600 < int(refused.headers["retry-after"]) <= 86400
    assert (await unlimited.request("GET", "/dataSources")).status_code == 200, "each key has its own budget"
