"""Uploads land in a source headwater marked for them, never in one that merely carries the expected name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx
import sqlalchemy as sa

from headwater.access import credentials
from headwater.settings import Settings
from headwater.store import migrate
from headwater.store.tables import DataSource
from tests.conftest import AppClient, runtime_of
from tests.support.tenants import Tenancy, make_tenancy

SALES = (
    b"saleDate,transactionId,quantity,amount,partnerSkuCode\n2024-03-01,T1,2,10.50,SKU-1\nbad,T2,1,1,SKU\n"
)


def partner_call(http: httpx.AsyncClient, who: Tenancy, code: str, password: str | None = None) -> Any:
    async def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await http.request(
            method,
            "/api/v4" + path,
            headers={"Thalamus-Touchpoint": who.touchpoint_code, "Thalamus-Token": who.touchpoint_token},
            auth=(who.principal, password or who.password),
            **kwargs,
        )

    return call


async def test_a_source_named_like_another_partners_uploads_does_not_capture_them(
    app_client: AppClient,
) -> None:
    app, http = app_client
    runtime = runtime_of(app)
    victim = await make_tenancy(runtime, "acme", code="REST01")
    async with runtime.db.session() as session:
        issued = await credentials.create_partner(session, victim.tenant_id, "mallory@acme.example")
    assert issued.generated_password is not None
    attacker = Tenancy(
        victim.tenant_id,
        victim.touchpoint_code,
        victim.touchpoint_token,
        issued.partner.id,
        issued.partner.principal,
        issued.generated_password,
    )
    as_victim = partner_call(http, victim, "REST01")
    as_attacker = partner_call(http, attacker, "REST01")

    trap = await as_attacker(
        "POST",
        "/partner/datasources",
        json={
            "name": f"uploads/{victim.partner_id}/25011",
            "host": "ftp.example.com",
            "user": "u",
            "password": "p",
            "workingDirectory": "/in",
            "processorType": 25011,
            "fileImportType": "PARTY",
            "authenticationType": "PASSWORD",
            "dataSourceType": "FTP",
            "touchpointCode": "REST01",
            "amountCalculated": True,
        },
    )
    assert trap.status_code == 201, trap.text
    trap_id = trap.json()["datasource"]["id"]

    uploaded = await as_victim(
        "POST", "/import/file", params={"type": 25011}, files={"file": ("march.csv", SALES)}
    )

    assert uploaded.status_code == 200, uploaded.text
    landed = uploaded.json()
    assert landed["partnerDatasourceId"] != trap_id
    assert (landed["rowsOk"], landed["rowsWithErrors"]) == (1, 1)
    seen_by_attacker = await as_attacker("GET", f"/partner/datasources/{trap_id}/imports")
    assert seen_by_attacker.json()["imports"] == []
    errors = await as_attacker("GET", f"/partner/datasources/{trap_id}/imports/{landed['id']}/errors")
    assert errors.status_code == 404
    stolen = await as_attacker("GET", f"/partner/datasources/{landed['partnerDatasourceId']}/imports")
    assert stolen.status_code == 404
    # The victim's next upload of the same type goes to the same place as the first.
    again = await as_victim(
        "POST", "/import/file", params={"type": 25011}, files={"file": ("april.csv", SALES)}
    )
    assert again.json()["partnerDatasourceId"] == landed["partnerDatasourceId"]


async def test_migrating_marks_the_upload_sources_made_until_now_and_nothing_else(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await anyio.to_thread.run_sync(migrate.upgrade, url, "0001")
    engine = sa.create_engine(migrate.sync_url(url))
    insert = sa.text(
        "INSERT INTO data_sources (uuid, tenant_id, owner_partner_id, name, system, data_source_type, "
        "processor_type, tls, amount_calculated, active, status, file_pattern, after_import, recursive, "
        "failure_count, created_at, updated_at) VALUES (:uuid, 1, :owner, :name, :system, :kind, :type, "
        "0, 0, 1, 'idle', '*', 'KEEP', 0, 0, '2024-01-01', '2024-01-01')"
    )
    rows = [
        {
            "uuid": "ds_1",
            "owner": 7,
            "name": "uploads/7/25011",
            "system": "Custom",
            "kind": None,
            "type": 25011,
        },
        {
            "uuid": "ds_2",
            "owner": None,
            "name": "uploads/tenant/25012",
            "system": "Custom",
            "kind": None,
            "type": 25012,
        },
        # A pull source named like partner 8's uploads, by partner 9.
        {
            "uuid": "ds_3",
            "owner": 9,
            "name": "uploads/8/25011",
            "system": "FTP",
            "kind": "FTP",
            "type": 25011,
        },
        # A Custom source whose name names another owner or type than its own.
        {
            "uuid": "ds_4",
            "owner": 9,
            "name": "uploads/8/25000",
            "system": "Custom",
            "kind": None,
            "type": 25000,
        },
        {
            "uuid": "ds_5",
            "owner": None,
            "name": "uploads/tenant/25004",
            "system": "Custom",
            "kind": None,
            "type": None,
        },
    ]
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text("INSERT INTO tenants (id, name, created_at) VALUES (1, 't', '2024-01-01')")
            )
            for partner_id in (7, 9):
                connection.execute(
                    sa.text(
                        "INSERT INTO partners (id, tenant_id, principal, password_hash, created_at) "
                        "VALUES (:id, 1, :principal, 'x', '2024-01-01')"
                    ),
                    {"id": partner_id, "principal": f"p{partner_id}"},
                )
            connection.execute(insert, rows)

        await anyio.to_thread.run_sync(migrate.upgrade, url)

        with engine.connect() as connection:
            marked = connection.execute(
                sa.select(DataSource.uuid, DataSource.upload_only).order_by(DataSource.uuid)
            )
            assert dict(marked.all()) == {
                "ds_1": True,
                "ds_2": True,
                "ds_3": False,
                "ds_4": False,
                "ds_5": False,
            }
    finally:
        engine.dispose()


async def test_an_upload_source_is_made_under_another_name_when_its_name_is_taken(
    settings: Settings, app_client: AppClient
) -> None:
    app, http = app_client
    runtime = runtime_of(app)
    tenancy = await make_tenancy(runtime, "acme", code="REST01")
    call = partner_call(http, tenancy, "REST01")
    squatter = await call(
        "POST",
        "/partner/datasources",
        json={
            "name": f"uploads/{tenancy.partner_id}/25012",
            "host": "ftp.example.com",
            "user": "u",
            "password": "p",
            "workingDirectory": "/in",
            "processorType": 25012,
            "fileImportType": "PARTY",
            "authenticationType": "PASSWORD",
            "dataSourceType": "FTP",
            "touchpointCode": "REST01",
            "amountCalculated": True,
        },
    )
    assert squatter.status_code == 201, squatter.text

    uploaded = await call(
        "POST",
        "/import/file",
        params={"type": 25012},
        files={"file": ("stock.csv", b"stockDate,quantity,partnerSkuCode\n2024-01-05,7,SKU-9\n")},
    )

    assert uploaded.status_code == 200, uploaded.text
    async with runtime.db.session() as session:
        destination = await session.get(DataSource, uploaded.json()["partnerDatasourceId"])
        assert destination is not None and destination.upload_only
        assert destination.name.startswith(f"uploads/{tenancy.partner_id}/25012-")
