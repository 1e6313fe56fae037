"""The web console over the real app: sign-in, what each viewer sees, CSRF, isolation, headers."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from headwater.ingest import uploads
from headwater.store import sources as source_store
from tests.conftest import AppClient, make_settings, running_app, runtime_of
from tests.integration.console_support import csrf_of, make_operator, sign_in
from tests.support.tenants import make_source, make_tenancy


async def test_the_root_leads_to_the_console_and_the_console_asks_to_sign_in(app_client: AppClient) -> None:
    _, client = app_client
    root = await client.get("/")
    assert root.headers["location"] == "/console/"
    page = await client.get("/console/sources")
    assert page.status_code == 303
    assert page.headers["location"] == "/console/login?next=/console/sources"


async def test_a_partner_signs_in_sees_only_its_own_sources_and_signs_out(app_client: AppClient) -> None:
    app, client = app_client
    runtime = runtime_of(app)
    acme = await make_tenancy(runtime, "acme")
    await make_source(runtime, acme, name="acme sales")
    other = await make_tenancy(runtime, "globex", code="REST02")
    await make_source(runtime, other, name="globex sales")

    signed_in = await sign_in(client, acme.principal, acme.password, tenant="acme")
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/console/"
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=" in cookie

    sources = await client.get("/console/sources")
    assert sources.status_code == 200
    assert "acme sales" in sources.text
    assert "globex sales" not in sources.text
    assert "s3cret-password" not in sources.text

    out = await client.post("/console/logout", data={"csrf_token": csrf_of(sources)})
    assert out.status_code == 303
    assert (await client.get("/console/sources")).status_code == 303


async def test_wrong_credentials_are_one_plain_message_and_empty_fields_are_named(
    app_client: AppClient,
) -> None:
    app, client = app_client
    acme = await make_tenancy(runtime_of(app), "acme")
    for tenant, principal in (("acme", acme.principal), ("nosuch", acme.principal), ("acme", "nobody")):
        answer = await sign_in(client, principal, "wrong-password", tenant=tenant)
        assert answer.status_code == 400
        assert "The tenant, principal or password is wrong." in answer.text
    empty = await sign_in(client, "", "", tenant="acme")
    assert "Enter your principal" in empty.text and "Enter your password" in empty.text


async def test_an_operator_sees_every_tenant(app_client: AppClient) -> None:
    app, client = app_client
    runtime = runtime_of(app)
    for name, code in (("acme", "REST01"), ("globex", "REST02")):
        tenancy = await make_tenancy(runtime, name, code=code)
        await make_source(runtime, tenancy, name=f"{name} sales")
    password = await make_operator(runtime)
    assert (await sign_in(client, "ops", password)).status_code == 303
    sources = await client.get("/console/sources")
    assert "acme sales" in sources.text and "globex sales" in sources.text
    tenants = await client.get("/console/tenants")
    assert tenants.status_code == 200
    assert "acme" in tenants.text and "globex" in tenants.text


async def test_another_tenants_source_is_not_found_whatever_the_page(app_client: AppClient) -> None:
    app, client = app_client
    runtime = runtime_of(app)
    acme = await make_tenancy(runtime, "acme")
    globex = await make_tenancy(runtime, "globex", code="REST02")
    theirs = await make_source(runtime, globex)
    await sign_in(client, acme.principal, acme.password, tenant="acme")
    page = await client.get("/console/sources")
    token = csrf_of(page)
    for path in (
        f"/console/sources/{theirs.id}",
        f"/console/sources/{theirs.id}/live",
        f"/console/sources/{theirs.id}/files/1",
        f"/console/sources/{theirs.id}/delete",
    ):
        assert (await client.get(path)).status_code == 404, path
    for action in ("run", "pause", "resume", "delete"):
        answer = await client.post(f"/console/sources/{theirs.id}/{action}", data={"csrf_token": token})
        assert answer.status_code == 404, action
    assert (await client.get("/console/tenants")).status_code == 404  # operators only
    async with runtime.db.session() as session:
        assert (await source_store.get_for_operator(session, theirs.id)).active


async def test_a_form_without_the_sessions_csrf_token_is_refused(app_client: AppClient) -> None:
    app, client = app_client
    runtime = runtime_of(app)
    acme = await make_tenancy(runtime, "acme")
    source = await make_source(runtime, acme)
    await sign_in(client, acme.principal, acme.password, tenant="acme")
    for data in ({}, {"csrf_token": "forged"}):
        refused = await client.post(f"/console/sources/{source.id}/pause", data=data)
        assert refused.status_code == 403
        assert "Form refused" in refused.text
    async with runtime.db.session() as session:
        assert (await source_store.get_for_operator(session, source.id)).active

    page = await client.get(f"/console/sources/{source.id}")
    paused = await client.post(f"/console/sources/{source.id}/pause", data={"csrf_token": csrf_of(page)})
    assert paused.status_code == 303
    async with runtime.db.session() as session:
        assert not (await source_store.get_for_operator(session, source.id)).active


async def test_the_login_form_itself_needs_its_csrf_token(app_client: AppClient) -> None:
    app, client = app_client
    acme = await make_tenancy(runtime_of(app), "acme")
    await client.get("/console/login")
    forged = await client.post(
        "/console/login",
        data={"tenant": "acme", "principal": acme.principal, "password": acme.password, "csrf_token": "x"},
    )
    assert forged.status_code == 403


@pytest.mark.parametrize("path", ["/console/login", "/console/sources"])
async def test_every_page_forbids_inline_scripts_and_framing(app_client: AppClient, path: str) -> None:
    _, client = app_client
    answer = await client.get(path)
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"


async def test_what_a_page_shows_is_escaped(app_client: AppClient) -> None:
    app, client = app_client
    runtime = runtime_of(app)
    acme = await make_tenancy(runtime, "acme")
    await make_source(runtime, acme, name="<script>alert(1)</script>")
    await sign_in(client, acme.principal, acme.password, tenant="acme")
    page = await client.get("/console/sources")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_after_sign_in_the_console_returns_to_the_page_asked_for_but_never_elsewhere(
    app_client: AppClient,
) -> None:
    app, client = app_client
    acme = await make_tenancy(runtime_of(app), "acme")
    for wanted, landed in (
        ("/console/tenants", "/console/tenants"),
        ("https://evil.example/", "/console/"),
        ("/console//evil.example", "/console/"),
    ):
        form = await client.get("/console/login", params={"next": wanted})
        answer = await client.post(
            "/console/login",
            data={
                "tenant": "acme",
                "principal": acme.principal,
                "password": acme.password,
                "csrf_token": csrf_of(form),
                "next": wanted,
            },
        )
        assert answer.headers["location"] == landed
        client.cookies.clear()


def _source_form(**overrides: str) -> dict[str, str]:
    form = {
        "dataSourceType": "SFTP",
        "host": "files.partner.example",
        "user": "demo",
        "authenticationType": "PASSWORD",
        "password": "form-secret-1",
        "workingDirectory": "/in",
        "processorType": "25011",
        "fileImportType": "PARTY",
        "touchpointCode": "REST01",
        "name": "from the form",
        "active": "on",
    }
    form.update(overrides)
    return form


async def test_a_partner_creates_a_source_in_a_form_with_errors_next_to_their_fields(
    app_client: AppClient,
) -> None:
    app, client = app_client
    runtime = runtime_of(app)
    acme = await make_tenancy(runtime, "acme")
    await sign_in(client, acme.principal, acme.password, tenant="acme")
    blank = await client.get("/console/sources/new")
    token = csrf_of(blank)

    missing = await client.post("/console/sources/new", data={**_source_form(host=""), "csrf_token": token})
    assert missing.status_code == 400
    assert 'id="e-host"' in missing.text
    assert "form-secret-1" not in missing.text

    created = await client.post("/console/sources/new", data={**_source_form(), "csrf_token": token})
    assert created.status_code == 303
    page = await client.get(created.headers["location"])
    assert "from the form" in page.text and "The source was created." in page.text
    assert "form-secret-1" not in page.text
    async with runtime.db.session() as session:
        (source,) = await source_store.list_(session, acme.tenant_id)
    assert source.owner_partner_id == acme.partner_id


async def test_saving_settings_without_typing_a_secret_keeps_the_stored_one(app_client: AppClient) -> None:
    app, client = app_client
    runtime = runtime_of(app)
    acme = await make_tenancy(runtime, "acme")
    source = await make_source(runtime, acme, name="before")
    await sign_in(client, acme.principal, acme.password, tenant="acme")
    form = await client.get(f"/console/sources/{source.id}/settings")
    assert "s3cret-password" not in form.text
    assert "A value is stored" in form.text
    saved = await client.post(
        f"/console/sources/{source.id}/settings",
        data={**_source_form(name="after", password=""), "csrf_token": csrf_of(form)},
    )
    assert saved.status_code == 303
    async with runtime.db.session() as session:
        stored = await source_store.get_for_operator(session, source.id)
        assert stored.name == "after"
        assert runtime.box.decrypt(stored.password_enc or "") == "s3cret-password"


async def test_records_files_and_charts_show_what_was_imported(app_client: AppClient) -> None:
    app, client = app_client
    runtime = runtime_of(app)
    acme = await make_tenancy(runtime, "acme")
    sales = b"saleDate,transactionId,quantity,amount,partnerSkuCode\n2026-11-01,T-1,2,3.5,SKU-1\n2026-11-31,T-2,1,1,SKU-2\n"
    imported = await uploads.import_upload(
        runtime,
        acme.tenant_id,
        source_id=None,
        name="sales.csv",
        processor_type=25011,
        data=io.BytesIO(sales),
        owner_partner_id=acme.partner_id,
    )
    await sign_in(client, acme.principal, acme.password, tenant="acme")
    source_id = imported.data_source_id

    records = await client.get(f"/console/sources/{source_id}/records")
    assert records.status_code == 200
    assert "T-1" in records.text and "T-2" not in records.text
    filtered = await client.get(
        f"/console/sources/{source_id}/records", params={"filterName": "transactionId", "filterValue": "nope"}
    )
    assert "T-1" not in filtered.text
    refused = await client.get(f"/console/sources/{source_id}/records", params={"saleDate": "yesterday"})
    assert refused.status_code == 200 and "must be a date" in refused.text

    file_page = await client.get(f"/console/sources/{source_id}/files/{imported.id}")
    assert "InvalidDate" in file_page.text and ">3<" in file_page.text  # the rejected row's line

    charts = await client.get("/console/charts")
    assert charts.status_code == 200
    assert "1 rows imported and 1 rejected" in charts.text


async def test_only_operators_see_the_queue_page(app_client: AppClient) -> None:
    app, client = app_client
    runtime = runtime_of(app)
    acme = await make_tenancy(runtime, "acme")
    await sign_in(client, acme.principal, acme.password, tenant="acme")
    assert (await client.get("/console/queue")).status_code == 404
    client.cookies.clear()
    await sign_in(client, "ops", await make_operator(runtime))
    queue = await client.get("/console/queue")
    assert queue.status_code == 200
    assert ("Runs per source" in queue.text) == runtime.settings.distributed


async def test_repeated_wrong_passwords_are_throttled_with_a_plain_message(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'h.db'}", auth_failures_per_principal="3/minute"
    )
    async with running_app(settings) as (app, client):
        acme = await make_tenancy(runtime_of(app), "acme")
        for _ in range(3):
            assert (await sign_in(client, acme.principal, "wrong-password", tenant="acme")).status_code == 400
        refused = await sign_in(client, acme.principal, acme.password, tenant="acme")
    assert refused.status_code == 429
    assert "Too many sign-in attempts" in refused.text
    assert int(refused.headers["retry-after"]) > 0
