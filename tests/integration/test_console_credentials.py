"""Operators manage a tenant's credentials in the console: each new secret shown once, on the answer to
its creation only; partners reach none of these pages; every form needs the session's CSRF token."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from headwater.access import apikeys
from headwater.store import credentials as credential_store
from tests.conftest import AppClient, runtime_of
from tests.integration.console_support import csrf_of, make_operator, sign_in
from tests.support.tenants import make_tenancy

_SECRET = re.compile(r'<code class="secret" data-secret>([^<]+)</code>')


def secrets_of(page: httpx.Response) -> list[str]:
    return _SECRET.findall(page.text)


async def _as_operator(app: FastAPI, client: httpx.AsyncClient) -> int:
    """Signed in as an operator; the id of a tenant "acme" made through the console."""
    await sign_in(client, "ops", await make_operator(runtime_of(app)))
    page = await client.get("/console/tenants")
    created = await client.post("/console/tenants", data={"name": "acme", "csrf_token": csrf_of(page)})
    assert created.status_code == 303
    return int(created.headers["location"].split("/")[-1].split("?")[0])


async def _post(client: httpx.AsyncClient, path: str, **data: str | list[str]) -> httpx.Response:
    page = await client.get("/console/tenants")
    return await client.post(path, data={"csrf_token": csrf_of(page), **data})


async def test_an_operator_creates_a_tenant_and_a_taken_name_is_said_next_to_the_field(
    app_client: AppClient,
) -> None:
    app, client = app_client
    tenant_id = await _as_operator(app, client)
    page = await client.get(f"/console/tenants/{tenant_id}?notice=created")
    assert page.status_code == 200 and "The tenant was created." in page.text
    taken = await _post(client, "/console/tenants", name="acme")
    assert taken.status_code == 400
    assert 'id="t-name-error"' in taken.text and "already exists" in taken.text
    empty = await _post(client, "/console/tenants", name=" ")
    assert empty.status_code == 400 and "Name is required." in empty.text


async def test_a_touchpoint_token_is_shown_once_then_rotated_and_revoked(app_client: AppClient) -> None:
    app, client = app_client
    tenant_id = await _as_operator(app, client)

    created = await _post(client, f"/console/tenants/{tenant_id}/touchpoints", code="REST01")
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    code, token = secrets_of(created)
    assert code == "REST01" and len(token) > 20
    listed = await client.get(f"/console/tenants/{tenant_id}")
    assert "REST01" in listed.text and token not in listed.text
    assert "no-store" not in listed.headers.get("cache-control", "")

    rotated = await _post(client, f"/console/tenants/{tenant_id}/touchpoints/rotate", code="REST01")
    new_token = secrets_of(rotated)[1]
    assert new_token != token and rotated.headers["cache-control"] == "no-store"

    revoked = await _post(client, f"/console/tenants/{tenant_id}/touchpoints/revoke", code="REST01")
    assert revoked.status_code == 303
    assert "its token is refused" in (await client.get(revoked.headers["location"])).text
    async with runtime_of(app).db.session() as session:
        (touchpoint,) = await credential_store.list_touchpoints(session, tenant_id)
    assert touchpoint.revoked_at is not None

    bad = await _post(client, f"/console/tenants/{tenant_id}/touchpoints", code="no spaces")
    assert bad.status_code == 400
    assert 'id="touchpoint-code-error"' in bad.text and "letters, digits" in bad.text
    assert 'value="no spaces"' in bad.text


async def test_a_new_partner_signs_in_with_the_password_shown_once_and_a_revoked_one_is_signed_out(
    app_client: AppClient,
) -> None:
    app, client = app_client
    tenant_id = await _as_operator(app, client)
    created = await _post(
        client, f"/console/tenants/{tenant_id}/partners", principal="pat@acme.example", first_name="Pat"
    )
    assert created.headers["cache-control"] == "no-store"
    principal, password = secrets_of(created)
    assert principal == "pat@acme.example"
    assert password not in (await client.get(f"/console/tenants/{tenant_id}")).text

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as partner:
        assert (await sign_in(partner, principal, password, tenant="acme")).status_code == 303
        assert (await partner.get("/console/sources")).status_code == 200

        reset = await _post(
            client, f"/console/tenants/{tenant_id}/partners/reset-password", principal=principal
        )
        new_password = secrets_of(reset)[1]
        assert new_password != password and "1 session(s) ended" in reset.text
        assert (await partner.get("/console/sources")).status_code == 303  # signed out
        assert (await sign_in(partner, principal, new_password, tenant="acme")).status_code == 303

        revoked = await _post(client, f"/console/tenants/{tenant_id}/partners/revoke", principal=principal)
        assert revoked.status_code == 303
        gone = await partner.get("/console/sources")
        assert gone.status_code == 303 and gone.headers["location"].startswith("/console/login")
        assert (await sign_in(partner, principal, new_password, tenant="acme")).status_code == 400

    taken = await _post(client, f"/console/tenants/{tenant_id}/partners", principal=principal)
    assert taken.status_code == 400 and 'id="partner-principal-error"' in taken.text


async def test_api_keys_are_shown_once_masked_afterwards_and_revoked_by_the_operator(
    app_client: AppClient,
) -> None:
    app, client = app_client
    tenant_id = await _as_operator(app, client)
    created = await _post(client, f"/console/tenants/{tenant_id}/api-keys")
    (key,) = secrets_of(created)
    assert key.startswith("hwk_") and created.headers["cache-control"] == "no-store"
    listed = await client.get(f"/console/tenants/{tenant_id}")
    assert key not in listed.text and apikeys.masked(key[: apikeys.PREFIX_LENGTH]) in listed.text
    assert (await client.get("/v1/data_sources", auth=(key, ""))).status_code == 200

    async with runtime_of(app).db.session() as session:
        (info,) = await apikeys.list_keys(session, "acme")
    revoked = await _post(client, f"/console/tenants/{tenant_id}/api-keys/revoke", id=str(info.id))
    assert revoked.status_code == 303
    assert (await client.get("/v1/data_sources", auth=(key, ""))).status_code == 401


async def test_oauth_clients_and_area_keys_are_created_with_their_secrets_shown_once(
    app_client: AppClient,
) -> None:
    app, client = app_client
    tenant_id = await _as_operator(app, client)
    await _post(client, "/console/tenants", name="globex")

    made = await _post(client, f"/console/tenants/{tenant_id}/clients", grant=["globex"])
    client_id, secret = secrets_of(made)
    assert client_id.startswith("hwc_") and made.headers["cache-control"] == "no-store"
    assert "granted acme, globex" in made.text
    listed = await client.get(f"/console/tenants/{tenant_id}")
    assert client_id in listed.text and secret not in listed.text

    refused = await _post(client, f"/console/tenants/{tenant_id}/area-keys", perSecond="0", perDay="lots")
    assert refused.status_code == 400
    assert 'id="areaKey-perSecond-error"' in refused.text and 'id="areaKey-perDay-error"' in refused.text
    area = await _post(client, f"/console/tenants/{tenant_id}/area-keys", perSecond="5")
    (area_key,) = secrets_of(area)
    assert area_key.startswith("hwx_")
    token = await client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert token.status_code == 200

    listed = await client.get(f"/console/tenants/{tenant_id}")
    assert area_key not in listed.text
    # Its own budget per second, the configured one per day where it set none.
    assert '<td class="num">5</td>' in listed.text
    assert '<td class="num">100\u202f000</td>' in listed.text
    key_id = re.search(r'name="id" value="(\d+)"', listed.text)
    assert key_id
    revoked = await _post(client, f"/console/tenants/{tenant_id}/area-keys/revoke", id=key_id.group(1))
    assert revoked.status_code == 303
    assert "The area key was revoked." in (await client.get(revoked.headers["location"])).text


async def test_partners_reach_no_operator_page_or_action(app_client: AppClient) -> None:
    app, client = app_client
    acme = await make_tenancy(runtime_of(app), "acme")
    await sign_in(client, acme.principal, acme.password, tenant="acme")
    token = csrf_of(await client.get("/console/sources"))
    assert (await client.get("/console/tenants")).status_code == 404
    assert (await client.get(f"/console/tenants/{acme.tenant_id}")).status_code == 404
    for action in (
        "",
        "/touchpoints",
        "/touchpoints/rotate",
        "/touchpoints/revoke",
        "/partners",
        "/partners/reset-password",
        "/partners/revoke",
        "/api-keys",
        "/api-keys/revoke",
        "/clients",
        "/area-keys",
        "/area-keys/revoke",
    ):
        path = "/console/tenants" + (f"/{acme.tenant_id}{action}" if action else "")
        answer = await client.post(path, data={"csrf_token": token, "code": "X", "principal": acme.principal})
        assert answer.status_code == 404, path
    async with runtime_of(app).db.session() as session:
        (partner,) = await credential_store.list_partners(session, acme.tenant_id)
        assert partner.revoked_at is None
        assert len(await credential_store.list_tenants(session)) == 1


async def test_operator_forms_need_the_sessions_csrf_token_and_unknown_tenants_are_not_found(
    app_client: AppClient,
) -> None:
    app, client = app_client
    tenant_id = await _as_operator(app, client)
    for path in (
        "/console/tenants",
        f"/console/tenants/{tenant_id}/touchpoints",
        f"/console/tenants/{tenant_id}/partners",
        f"/console/tenants/{tenant_id}/api-keys",
        f"/console/tenants/{tenant_id}/clients",
        f"/console/tenants/{tenant_id}/area-keys",
    ):
        refused = await client.post(
            path, data={"csrf_token": "forged", "name": "x", "code": "X1", "principal": "p"}
        )
        assert refused.status_code == 403, path
    async with runtime_of(app).db.session() as session:
        assert len(await credential_store.list_tenants(session)) == 1
        assert await credential_store.list_touchpoints(session, tenant_id) == []
    assert (await client.get("/console/tenants/999")).status_code == 404
    assert (await _post(client, "/console/tenants/999/api-keys")).status_code == 404


async def test_webhook_endpoints_are_added_with_their_secret_shown_once_rotated_and_removed(
    app_client: AppClient,
) -> None:
    app, client = app_client
    tenant_id = await _as_operator(app, client)
    added = await _post(
        client,
        f"/console/tenants/{tenant_id}/webhooks",
        url="http://127.0.0.1:9/hooks",
        events=["run.failed", "file.rejected_rows"],
    )
    assert added.status_code == 200 and added.headers["cache-control"] == "no-store"
    [secret] = secrets_of(added)
    assert secret.startswith("whsec_")
    tenant = await client.get(f"/console/tenants/{tenant_id}")
    assert "http://127.0.0.1:9/hooks" in tenant.text and "run.failed, file.rejected_rows" in tenant.text
    assert secret not in tenant.text
    endpoint_id = re.search(rf"/console/tenants/{tenant_id}/webhooks/(\d+)", tenant.text)
    assert endpoint_id
    deliveries = await client.get(f"/console/tenants/{tenant_id}/webhooks/{endpoint_id.group(1)}")
    assert deliveries.status_code == 200 and "Nothing was sent yet." in deliveries.text

    rotated = await _post(client, f"/console/tenants/{tenant_id}/webhooks/rotate", id=endpoint_id.group(1))
    [new_secret] = secrets_of(rotated)
    assert new_secret != secret
    bad = await _post(client, f"/console/tenants/{tenant_id}/webhooks", url="ftp://example.com/x")
    assert bad.status_code == 400
    removed = await _post(client, f"/console/tenants/{tenant_id}/webhooks/delete", id=endpoint_id.group(1))
    assert removed.status_code == 303
    assert "http://127.0.0.1:9/hooks" not in (await client.get(f"/console/tenants/{tenant_id}")).text
