"""The source page's controls over the real app and a real SFTP server: test the connection, reset the
pinned host key, re-import a file or every file, the schedule; another tenant reaches none of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from headwater.runtime import Runtime
from headwater.settings import Settings
from headwater.store import imports as import_store
from headwater.store import sources as source_store
from tests.conftest import running_app
from tests.integration.console_support import csrf_of, sign_in
from tests.servers import SftpServerInfo
from tests.support.runs import importing_settings, sales_of, wait_idle
from tests.support.services import free_port
from tests.support.tenants import Tenancy, make_source, make_tenancy

pytestmark = pytest.mark.servers

SALES = (
    b"saleDate,transactionId,quantity,amount,partnerSkuCode\n"
    b"2026-11-01,T-1,2,3.50,SKU-1\n"
    b"2026-11-31,T-2,1,1.00,SKU-2\n"
    b"2026-11-03,T-3,1,2.00,SKU-3\n"
)

Live = tuple[FastAPI, httpx.AsyncClient, Runtime, Tenancy]


@pytest.fixture
def control_settings(tmp_path: Path) -> Settings:
    return importing_settings(tmp_path, connect_timeout=5)


@pytest.fixture
async def live(control_settings: Settings) -> AsyncIterator[Live]:
    async with running_app(control_settings) as (app, client):
        runtime: Runtime = app.state.runtime
        acme = await make_tenancy(runtime)
        await sign_in(client, acme.principal, acme.password, tenant="acme")
        yield app, client, runtime, acme


async def _sftp_source(runtime: Runtime, acme: Tenancy, server: SftpServerInfo, **overrides: object) -> int:
    source = await make_source(
        runtime,
        acme,
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        **overrides,
    )
    return source.id


async def _post(client: httpx.AsyncClient, path: str, **data: str) -> httpx.Response:
    page = await client.get("/console/sources")
    return await client.post(path, data={"csrf_token": csrf_of(page), **data})


async def test_testing_a_connection_shows_the_files_a_run_would_import_and_the_host_key(
    live: Live, sftp_server: SftpServerInfo
) -> None:
    _, client, runtime, acme = live
    sftp_server.put("in/sales.csv", SALES)
    sftp_server.put("in/notes.txt", b"not sales\n")
    source_id = await _sftp_source(runtime, acme, sftp_server, filePattern="*.csv")

    tested = await _post(client, f"/console/sources/{source_id}/test")

    assert tested.status_code == 200
    assert "1 would be imported by the next run" in tested.text
    assert "sales.csv" in tested.text and "imports it" in tested.text
    assert "excludedByPattern" in tested.text
    assert "SHA256:" in tested.text and "Not pinned yet" in tested.text
    assert sftp_server.password not in tested.text
    assert await sales_of(runtime, source_id) == []  # a test imports nothing


async def test_a_failed_connection_test_says_its_code_and_message(live: Live) -> None:
    _, client, runtime, acme = live
    source_id = (await make_source(runtime, acme, host="127.0.0.1", port=free_port())).id

    tested = await _post(client, f"/console/sources/{source_id}/test")

    assert tested.status_code == 200
    assert "The connection failed" in tested.text and "ConnectionFailed" in tested.text
    assert "s3cret-password" not in tested.text


async def test_re_importing_a_file_replaces_its_rows_and_keeps_the_counts(
    live: Live, sftp_server: SftpServerInfo
) -> None:
    app, client, runtime, acme = live
    sftp_server.put("in/sales.csv", SALES)
    source_id = await _sftp_source(runtime, acme, sftp_server)
    assert (await _post(client, f"/console/sources/{source_id}/run")).status_code == 303
    await wait_idle(app)
    async with runtime.db.session() as session:
        (imported,) = await import_store.list_files(session, acme.tenant_id, source_id)
    before = (imported.rows, imported.rows_ok, imported.rows_with_errors)
    assert await sales_of(runtime, source_id) == ["T-1", "T-3"]

    answer = await _post(client, f"/console/sources/{source_id}/files/{imported.id}/reimport")
    assert answer.status_code == 303
    assert answer.headers["location"].endswith(f"/files/{imported.id}?notice=reimport-queued")
    await wait_idle(app)

    file_page = await client.get(answer.headers["location"])
    assert "marked for import again and a run was queued" in file_page.text
    async with runtime.db.session() as session:
        (again,) = await import_store.list_files(session, acme.tenant_id, source_id)
        runs = await import_store.list_runs(session, acme.tenant_id, source_id, limit=5)
    assert (again.rows, again.rows_ok, again.rows_with_errors) == before
    assert again.finished_at is not None and again.finished_at > imported.finished_at  # type: ignore[operator]
    assert len(runs) == 2
    assert await sales_of(runtime, source_id) == ["T-1", "T-3"]

    every = await _post(client, f"/console/sources/{source_id}/reimport")
    assert every.headers["location"].endswith("?notice=reimport-queued")
    await wait_idle(app)
    assert await sales_of(runtime, source_id) == ["T-1", "T-3"]


async def test_an_uploaded_file_cannot_be_re_imported_and_the_page_says_why(live: Live) -> None:
    _, client, runtime, acme = live
    from io import BytesIO

    from headwater.ingest import uploads

    uploaded = await uploads.import_upload(
        runtime,
        acme.tenant_id,
        source_id=None,
        name="sales.csv",
        processor_type=25011,
        data=BytesIO(SALES),
        owner_partner_id=acme.partner_id,
    )
    file_page = await client.get(f"/console/sources/{uploaded.data_source_id}/files/{uploaded.id}")
    assert "Re-import this file" not in file_page.text
    answer = await _post(client, f"/console/sources/{uploaded.data_source_id}/files/{uploaded.id}/reimport")
    assert answer.headers["location"].endswith("?notice=reimport-uploaded")


async def test_the_source_page_shows_the_pinned_host_key_and_a_reset_forgets_it(
    live: Live, sftp_server: SftpServerInfo
) -> None:
    app, client, runtime, acme = live
    sftp_server.put("in/sales.csv", SALES)
    source_id = await _sftp_source(runtime, acme, sftp_server)
    await _post(client, f"/console/sources/{source_id}/run")
    await wait_idle(app)
    async with runtime.db.session() as session:
        pinned = (await source_store.get_for_operator(session, source_id)).host_key
    assert pinned

    page = await client.get(f"/console/sources/{source_id}")
    assert "SFTP host key" in page.text and "SHA256:" in page.text
    assert "Reset the pinned key" in page.text
    assert "Next run" in page.text and "succeeded" in page.text

    reset = await _post(client, f"/console/sources/{source_id}/host-key/reset")
    assert reset.headers["location"].endswith("?notice=host-key-reset")
    after = await client.get(reset.headers["location"])
    assert "The pinned host key was forgotten" in after.text and "not pinned yet" in after.text
    async with runtime.db.session() as session:
        assert (await source_store.get_for_operator(session, source_id)).host_key is None


async def test_the_last_error_and_the_schedule_are_on_the_source_page(live: Live) -> None:
    app, client, runtime, acme = live
    source_id = (await make_source(runtime, acme, host="127.0.0.1", port=free_port())).id
    await _post(client, f"/console/sources/{source_id}/run")
    await wait_idle(app)
    page = await client.get(f"/console/sources/{source_id}")
    assert "Last error" in page.text and "ConnectionFailed" in page.text
    assert "every 3\u202f600 s (the installation's interval)" in page.text


async def test_the_settings_form_takes_a_schedule_in_seconds_or_cron_with_errors_next_to_it(
    live: Live,
) -> None:
    _, client, runtime, acme = live
    source = await make_source(runtime, acme, name="scheduled")
    form = await client.get(f"/console/sources/{source.id}/settings")
    token = csrf_of(form)
    fields = {
        "dataSourceType": "SFTP",
        "host": "files.partner.example",
        "user": "demo",
        "authenticationType": "PASSWORD",
        "workingDirectory": "/in",
        "processorType": "25011",
        "fileImportType": "PARTY",
        "touchpointCode": "REST01",
        "name": "scheduled",
        "active": "on",
        "csrf_token": token,
    }
    refused = await client.post(f"/console/sources/{source.id}/settings", data={**fields, "schedule": "5"})
    assert refused.status_code == 400
    assert 'id="e-schedule"' in refused.text and "from 60 to" in refused.text

    saved = await client.post(
        f"/console/sources/{source.id}/settings", data={**fields, "schedule": "0 3 * * *"}
    )
    assert saved.status_code == 303
    page = await client.get(f"/console/sources/{source.id}")
    assert "<code>0 3 * * *</code> (cron, UTC)" in page.text
    form = await client.get(f"/console/sources/{source.id}/settings")
    assert 'value="0 3 * * *"' in form.text

    await client.post(f"/console/sources/{source.id}/settings", data={**fields, "schedule": "7200"})
    assert "every 7" in (await client.get(f"/console/sources/{source.id}")).text


async def test_another_tenants_source_has_no_controls_and_forms_need_the_csrf_token(live: Live) -> None:
    _, client, runtime, acme = live
    globex = await make_tenancy(runtime, "globex", code="REST02")
    theirs = await make_source(runtime, globex)
    mine = await make_source(runtime, acme)
    for action in ("test", "host-key/reset", "reimport", "files/1/reimport"):
        answer = await _post(client, f"/console/sources/{theirs.id}/{action}")
        assert answer.status_code == 404, action
        refused = await client.post(f"/console/sources/{mine.id}/{action}", data={"csrf_token": "forged"})
        assert refused.status_code == 403, action
