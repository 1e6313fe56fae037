"""Uploading through the console: a dry run stores nothing, an import lands, rejected rows download."""

from __future__ import annotations

from sqlalchemy import text

from headwater.runtime import Runtime
from tests.conftest import AppClient
from tests.integration.console_support import csrf_of, sign_in
from tests.support.tenants import make_tenancy

SALES = (
    b"saleDate;transactionId;quantity;amount;partnerSkuCode\n"
    b"2026-11-01;T-1;2;3.5;SKU-1\n"
    b"2026-11-31;T-2;1;1;SKU-2\n"
    b'2026-11-02;T-3;x;1;"SKU;3"\n'
)


async def _count(runtime: Runtime, table: str) -> int:
    async with runtime.db.session() as session:
        return int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


async def test_a_dry_run_shows_counts_and_rejected_rows_and_stores_nothing(app_client: AppClient) -> None:
    app, client = app_client
    runtime: Runtime = app.state.runtime
    acme = await make_tenancy(runtime, "acme")
    await sign_in(client, acme.principal, acme.password, tenant="acme")
    form = await client.get("/console/upload")
    before = {table: await _count(runtime, table) for table in ("data_sources", "import_files", "runs")}
    checked = await client.post(
        "/console/upload",
        data={"csrf_token": csrf_of(form), "source": "", "processorType": "25011", "action": "dryrun"},
        files={"file": ("sales.csv", SALES, "text/csv")},
    )
    assert checked.status_code == 200
    assert (
        "Would import" in checked.text and "InvalidDate" in checked.text and "InvalidNumber" in checked.text
    )
    assert "2026-11-31;T-2;1;1;SKU-2" in checked.text  # the row as the file has it
    after = {table: await _count(runtime, table) for table in ("data_sources", "import_files", "runs")}
    assert after == before
    assert await _count(runtime, "partner_sales") == 0


async def test_an_import_lands_and_its_rejected_rows_download_in_the_files_own_layout(
    app_client: AppClient,
) -> None:
    app, client = app_client
    runtime: Runtime = app.state.runtime
    acme = await make_tenancy(runtime, "acme")
    await sign_in(client, acme.principal, acme.password, tenant="acme")
    form = await client.get("/console/upload")
    imported = await client.post(
        "/console/upload",
        data={"csrf_token": csrf_of(form), "source": "", "processorType": "25011", "action": "import"},
        files={"file": ("sales.csv", SALES, "text/csv")},
    )
    assert imported.status_code == 303
    file_page = await client.get(imported.headers["location"])
    assert "Download rejected rows (CSV)" in file_page.text
    download = await client.get(imported.headers["location"].split("?")[0] + "/errors.csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    lines = download.text.splitlines()
    assert lines[0] == "saleDate;transactionId;quantity;amount;partnerSkuCode;line;code;message"
    assert lines[1].startswith("2026-11-31;T-2;1;1;SKU-2;3;InvalidDate;")
    assert lines[2].startswith('2026-11-02;T-3;x;1;"SKU;3";4;InvalidNumber;')
    assert await _count(runtime, "partner_sales") == 1


async def test_another_tenants_rejected_rows_are_not_found(app_client: AppClient) -> None:
    app, client = app_client
    runtime: Runtime = app.state.runtime
    acme = await make_tenancy(runtime, "acme")
    globex = await make_tenancy(runtime, "globex", code="REST02")
    await sign_in(client, globex.principal, globex.password, tenant="globex")
    form = await client.get("/console/upload")
    theirs = await client.post(
        "/console/upload",
        data={"csrf_token": csrf_of(form), "source": "", "processorType": "25011", "action": "import"},
        files={"file": ("sales.csv", SALES, "text/csv")},
    )
    location = theirs.headers["location"].split("?")[0]
    client.cookies.clear()
    await sign_in(client, acme.principal, acme.password, tenant="acme")
    assert (await client.get(f"{location}/errors.csv")).status_code == 404
    mine = await client.get("/console/upload")
    source_id = location.split("/")[3]
    refused = await client.post(
        "/console/upload",
        data={"csrf_token": csrf_of(mine), "source": source_id, "action": "import"},
        files={"file": ("sales.csv", SALES, "text/csv")},
    )
    assert refused.status_code == 404


async def test_an_upload_without_a_file_or_type_is_answered_next_to_the_field(app_client: AppClient) -> None:
    app, client = app_client
    acme = await make_tenancy(app.state.runtime, "acme")
    await sign_in(client, acme.principal, acme.password, tenant="acme")
    form = await client.get("/console/upload")
    no_file = await client.post(
        "/console/upload", data={"csrf_token": csrf_of(form), "source": "", "action": "dryrun"}
    )
    assert no_file.status_code == 400 and 'id="e-file"' in no_file.text
    no_type = await client.post(
        "/console/upload",
        data={"csrf_token": csrf_of(form), "source": "", "action": "dryrun"},
        files={"file": ("sales.csv", SALES, "text/csv")},
    )
    assert no_type.status_code == 400 and 'id="e-processorType"' in no_type.text
