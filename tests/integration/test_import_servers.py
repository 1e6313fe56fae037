"""End to end: a partner registers its real server through the partner API, headwater runs it, and the
imported rows, files and errors are read back. Servers are started on loopback by ``tests.servers``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from headwater.runtime import Runtime
from headwater.settings import Settings
from headwater.store.tables import PartnerSale, PartnerStock
from tests.conftest import running_app
from tests.servers import FtpServerInfo, S3ServerInfo, SftpServerInfo
from tests.support.runs import importing_settings, wait_idle
from tests.support.tenants import Tenancy, make_tenancy

pytestmark = pytest.mark.servers

SALES = (
    b"saleDate;transactionId;quantity;amount;partnerSkuCode\n"
    b"2026-03-01;T-1;2;10.00;SKU-1\n"
    b"2026-03-01;T-2;1;4.50;SKU-2\n"
    b"2026-13-01;T-3;1;4.50;SKU-2\n"
)


class Partner:
    """A partner's client: touchpoint headers and HTTP Basic on every call."""

    def __init__(self, client: httpx.AsyncClient, tenancy: Tenancy) -> None:
        self.client = client
        self.headers = {
            "Thalamus-Touchpoint": tenancy.touchpoint_code,
            "Thalamus-Token": tenancy.touchpoint_token,
        }
        self.auth = (tenancy.principal, tenancy.password)
        self.code = tenancy.touchpoint_code

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.request(
            method, "/api/v4" + path, headers=self.headers, auth=self.auth, **kwargs
        )

    async def create(self, **fields: Any) -> int:
        body = {
            "workingDirectory": "/in",
            "processorType": 25011,
            "fileImportType": "PARTY",
            "authenticationType": "PASSWORD",
            "touchpointCode": self.code,
            "amountCalculated": False,
            **fields,
        }
        response = await self.call("POST", "/partner/datasources", json=body)
        assert response.status_code == 201, response.text
        source_id: int = response.json()["datasource"]["id"]
        return source_id

    async def run_and_wait(self, app: FastAPI, source_id: int) -> None:
        response = await self.call("POST", f"/partner/datasources/{source_id}/run")
        assert response.status_code == 202, response.text
        await wait_idle(app)


@pytest.fixture
def import_settings(tmp_path: Path) -> Settings:
    return importing_settings(tmp_path)


@pytest.fixture
async def live(import_settings: Settings) -> AsyncIterator[tuple[FastAPI, Partner, Runtime]]:
    async with running_app(import_settings) as (app, client):
        runtime: Runtime = app.state.runtime
        tenancy = await make_tenancy(runtime)
        yield app, Partner(client, tenancy), runtime


async def imported_sales(runtime: Runtime, source_id: int) -> list[tuple[str, str, int]]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(PartnerSale.transaction_id, PartnerSale.total, PartnerSale.line)
            .where(PartnerSale.data_source_id == source_id)
            .order_by(PartnerSale.line)
        )
        return [(transaction, f"{total:.2f}", line) for transaction, total, line in rows]


async def check_sales_imported(app: FastAPI, partner: Partner, runtime: Runtime, source_id: int) -> None:
    await partner.run_and_wait(app, source_id)

    assert await imported_sales(runtime, source_id) == [("T-1", "20.00", 2), ("T-2", "4.50", 3)]
    imports = (await partner.call("GET", f"/partner/datasources/{source_id}/imports")).json()["imports"]
    assert [(f["name"], f["state"], f["rows"], f["rowsOk"], f["rowsWithErrors"]) for f in imports] == [
        ("sales.csv", "imported", 3, 2, 1)
    ]
    errors = (
        await partner.call("GET", f"/partner/datasources/{source_id}/imports/{imports[0]['id']}/errors")
    ).json()
    assert [(e["line"], e["column"], e["code"]) for e in errors["importErrors"]] == [
        (4, "saleDate", "InvalidDate")
    ]
    source = (await partner.call("GET", f"/partner/datasources/{source_id}")).json()["datasource"]
    assert source["status"] == "idle"
    assert isinstance(source["lastRunningTime"], int)


def login_fields(
    server: FtpServerInfo | SftpServerInfo, data_source_type: str, **credentials: Any
) -> dict[str, Any]:
    """Where a partner's FTP or SFTP server answers, who logs in and with what."""
    return {
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "dataSourceType": data_source_type,
        **credentials,
    }


def sftp_key_fields(server: SftpServerInfo) -> dict[str, Any]:
    return login_fields(
        server,
        "SFTP",
        authenticationType="CERTIFICATE",
        privateKeyFile=server.encrypted_openssh_private_key,
        passphrase=server.passphrase,
    )


def s3_fields(server: S3ServerInfo) -> dict[str, Any]:
    return {
        "host": server.bucket,
        "user": server.access_key,
        "password": server.secret_key,
        "region": server.region,
        "endpointUrl": server.endpoint_url,
        "dataSourceType": "S3",
    }


@dataclass(frozen=True)
class Protocol:
    """How a partner registers one kind of server, and where its files are placed."""

    server_fixture: str
    fields: Callable[[Any], dict[str, Any]]
    # Files outside the working directory must be left alone.
    paths: tuple[str, ...] = ("in/sales.csv",)


PROTOCOLS = [
    pytest.param(Protocol("ftp_server", lambda s: login_fields(s, "FTP", password=s.password)), id="ftp"),
    pytest.param(
        Protocol("ftps_server", lambda s: login_fields(s, "FTP", password=s.password, tls=True)), id="ftps"
    ),
    pytest.param(
        Protocol("sftp_server", lambda s: login_fields(s, "SFTP", password=s.password)), id="sftp-password"
    ),
    pytest.param(Protocol("sftp_server", sftp_key_fields), id="sftp-key-and-passphrase"),
    pytest.param(Protocol("s3_server", s3_fields, ("in/sales.csv", "elsewhere/sales.csv")), id="s3"),
]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_source_imports_its_files(
    live: Any, protocol: Protocol, request: pytest.FixtureRequest
) -> None:
    app, partner, runtime = live
    server = request.getfixturevalue(protocol.server_fixture)
    for path in protocol.paths:
        server.put(path, SALES)
    source_id = await partner.create(**protocol.fields(server))
    await check_sales_imported(app, partner, runtime, source_id)


async def test_a_changed_sftp_host_key_fails_the_run_until_the_pin_is_reset(
    live: Any, sftp_server: SftpServerInfo
) -> None:
    app, partner, runtime = live
    sftp_server.put("in/sales.csv", SALES)
    source_id = await partner.create(**login_fields(sftp_server, "SFTP", password=sftp_server.password))
    await partner.run_and_wait(app, source_id)
    sftp_server.restart_with_new_host_key()
    sftp_server.put("in/more.csv", SALES.replace(b"T-", b"U-"))

    await partner.run_and_wait(app, source_id)

    runs = await runs_of(runtime, source_id)
    assert runs[-1][0] == "failed"
    assert "host key" in (runs[-1][1] or "").lower()
    assert len(await imported_sales(runtime, source_id)) == 2


async def runs_of(runtime: Runtime, source_id: int) -> list[tuple[str, str | None]]:
    from headwater.store.tables import Run

    async with runtime.db.session() as session:
        rows = await session.execute(
            select(Run.outcome, Run.message).where(Run.data_source_id == source_id).order_by(Run.id)
        )
        return [(outcome, message) for outcome, message in rows]


async def test_a_wrong_password_fails_the_run_with_the_reason_and_no_secret(
    live: Any, sftp_server: SftpServerInfo
) -> None:
    app, partner, runtime = live
    source_id = await partner.create(**login_fields(sftp_server, "SFTP", password="Wrong-Pa55word-XYZ"))

    await partner.run_and_wait(app, source_id)

    [(outcome, message)] = await runs_of(runtime, source_id)
    assert outcome == "failed"
    assert message and "Wrong-Pa55word-XYZ" not in message
    source = (await partner.call("GET", f"/partner/datasources/{source_id}")).json()["datasource"]
    assert source["active"] is True


async def test_stock_files_upload_through_the_partner_api(live: Any) -> None:
    _app, partner, runtime = live
    content = b"stockDate,quantity,partnerSkuCode\n2026-01-05,7,SKU-9\n2999-01-01,1,SKU-9\n"

    response = await partner.call(
        "POST",
        "/import/file",
        params={"name": "stock.csv", "type": 25012},
        files={"file": ("stock.csv", content)},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert {
        k: body[k]
        for k in ("name", "fileType", "rows", "rowsOk", "rowsWithErrors", "rowsSkipped", "rowsRollbacked")
    } == {
        "name": "stock.csv",
        "fileType": "CSV",
        "rows": 2,
        "rowsOk": 1,
        "rowsWithErrors": 1,
        "rowsSkipped": 0,
        "rowsRollbacked": 0,
    }
    assert isinstance(body["id"], int) and isinstance(body["partnerDatasourceId"], int)
    async with runtime.db.session() as session:
        assert (await session.scalars(select(PartnerStock.sku))).all() == ["SKU-9"]


async def test_an_upload_without_a_type_or_datasource_is_rejected(live: Any) -> None:
    _app, partner, _runtime = live

    response = await partner.call(
        "POST", "/import/file", params={"name": "x.csv"}, files={"file": ("x.csv", b"a\n")}
    )

    assert response.status_code == 400
    assert response.json() == {"errors": {"partnerDataSource": "ProcessorTypeRequired"}}


async def test_another_partners_datasource_cannot_be_run_or_read(
    live: Any, import_settings: Settings
) -> None:
    _app, partner, runtime = live
    other = await make_tenancy(runtime, name="other", code="REST02")
    other_partner = Partner(partner.client, other)
    source_id = await partner.create(host="127.0.0.1", port=21, user="u", password="p", dataSourceType="FTP")

    for method, path in (
        ("POST", f"/partner/datasources/{source_id}/run"),
        ("GET", f"/partner/datasources/{source_id}/imports"),
        ("GET", f"/partner/datasources/{source_id}/imports/1/errors"),
    ):
        response = await other_partner.call(method, path)
        assert response.status_code == 404, (method, path, response.text)


async def test_an_unknown_partner_path_answers_in_the_dialects_style(live: Any) -> None:
    _app, partner, _runtime = live

    response = await partner.call("GET", "/partner/no-such-thing")

    assert response.status_code == 404
    assert response.json() == {"errors": {"request": "NotFound"}}
