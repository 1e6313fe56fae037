"""A source pointing inside headwater's network, or archiving outside its working directory, is refused
when it is created or changed, in each dialect's own error style; and a failing MOVE is reported."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from headwater.ingest.imports import run_source
from headwater.runtime import Runtime
from tests.conftest import AppClient, make_settings, running_app, runtime_of
from tests.integration import integration_support as prod
from tests.integration.partner_support import (
    SEED_REQUEST,
    Caller,
    codes,
    create_source,
    signed_in_caller,
)
from tests.servers import FtpServerInfo
from tests.support.tenants import Tenancy, make_source, make_tenancy

PUBLIC = "8.8.8.8"  # an address literal: nothing is looked up


@pytest.fixture
async def guarded_app(tmp_path: Path) -> AsyncIterator[AppClient]:
    """The production default (private hosts refused), with one network the operator allows."""
    settings = make_settings(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}",
        allow_private_hosts=False,
        allowed_hosts="10.1.0.0/16",
    )
    async with running_app(settings) as pair:
        yield pair


@pytest.fixture
async def partner(guarded_app: AppClient) -> Caller:
    return await signed_in_caller(guarded_app)


S3 = {"dataSourceType": "S3", "host": "partner-bucket", "region": "eu-west-1", "workingDirectory": "/"}


INTERNAL_SOURCES: dict[str, dict[str, Any]] = {
    "loopback": {"host": "127.0.0.1"},
    "name-to-loopback": {"host": "localhost"},
    "metadata": {"host": "169.254.169.254"},
    "private": {"host": "10.0.0.5"},
    "mapped": {"host": "[::ffff:10.0.0.5]"},
    "6to4": {"host": "[2002:a9fe:a9fe::1]"},
    "nat64": {"host": "[64:ff9b::7f00:1]"},
    "sftp": {"dataSourceType": "SFTP", "host": "192.168.1.10", "port": 22},
    "s3-metadata": {**S3, "endpointUrl": "http://169.254.169.254/latest"},
    "s3-loopback": {**S3, "endpointUrl": "https://localhost:9000"},
}


async def test_the_partner_api_refuses_a_source_pointing_inside_the_network(
    guarded_app: AppClient, partner: Caller
) -> None:
    _, client = guarded_app
    answers = {
        name: await create_source(client, partner, **changes) for name, changes in INTERNAL_SOURCES.items()
    }
    assert {name: (r.status_code, codes(r)) for name, r in answers.items()} == {
        name: (400, ["HostNotAllowed"]) for name in INTERNAL_SOURCES
    }


async def test_the_partner_api_refuses_a_host_name_that_does_not_resolve(
    guarded_app: AppClient, partner: Caller
) -> None:
    _, client = guarded_app
    response = await create_source(client, partner, host="nowhere.invalid")
    assert response.status_code == 400, response.text
    assert codes(response) == ["HostNotResolvable"]


async def test_the_partner_api_accepts_public_hosts_and_networks_the_operator_allows(
    guarded_app: AppClient, partner: Caller
) -> None:
    _, client = guarded_app
    for changes in ({"host": PUBLIC}, {"host": "10.1.2.3"}, {**S3}, {**S3, "endpointUrl": "http://10.1.0.9"}):
        response = await create_source(client, partner, **changes)
        assert response.status_code == 201, (changes, response.text)


async def test_the_partner_api_refuses_changing_a_source_to_a_private_host(
    guarded_app: AppClient, partner: Caller
) -> None:
    _, client = guarded_app
    created = await create_source(client, partner, host=PUBLIC)
    source_id = created.json()["datasource"]["id"]
    response = await client.put(
        f"/api/v4/partner/datasources/{source_id}",
        headers=partner.touchpoint_headers,
        json={**SEED_REQUEST, "host": "169.254.169.254"},
    )
    assert response.status_code == 400, response.text
    assert codes(response) == ["HostNotAllowed"]
    shown = await client.get(f"/api/v4/partner/datasources/{source_id}", headers=partner.touchpoint_headers)
    assert shown.json()["datasource"]["host"] == PUBLIC


OUTSIDE_ARCHIVES: dict[str, dict[str, Any]] = {
    "dot-dot": {"archiveDirectory": "../outside"},
    "dot-dot-inside": {"archiveDirectory": "done/../../etc"},
    "absolute-elsewhere": {"archiveDirectory": "/etc"},
    "sibling-prefix": {"archiveDirectory": "/stocks"},
    "root": {"archiveDirectory": "/"},
    "backslash": {"archiveDirectory": "..\\outside"},
    "relative-working-directory": {"workingDirectory": "stock", "archiveDirectory": "/stock/done"},
}
INSIDE_ARCHIVES: dict[str, dict[str, Any]] = {
    "relative": {"archiveDirectory": "done"},
    "absolute-inside": {"archiveDirectory": "/stock/done/2026"},
    "s3-bucket": {**S3, "archiveDirectory": "/archive"},
}


async def test_the_partner_api_accepts_only_an_archive_directory_inside_the_source(
    guarded_app: AppClient, partner: Caller
) -> None:
    _, client = guarded_app

    async def create_moving(changes: dict[str, Any]) -> tuple[int, list[str]]:
        response = await create_source(client, partner, **{"host": PUBLIC, "afterImport": "MOVE", **changes})
        return response.status_code, codes(response) if response.status_code == 400 else []

    refused = {name: await create_moving(changes) for name, changes in OUTSIDE_ARCHIVES.items()}
    assert refused == {name: (400, ["InvalidArchiveDirectory"]) for name in OUTSIDE_ARCHIVES}
    accepted = {name: await create_moving(changes) for name, changes in INSIDE_ARCHIVES.items()}
    assert accepted == {name: (201, []) for name in INSIDE_ARCHIVES}


async def test_the_integration_api_answers_a_private_host_with_its_message(guarded_app: AppClient) -> None:
    app, http = guarded_app
    await prod.add_tenant(runtime_of(app), "acme")
    client = await prod.connect(app, http, "acme")

    refused = await client.send("POST", "/dataSources", {**prod.PULL_SOURCE, "host": "169.254.169.254"})
    assert prod.is_message(refused, "host_not_allowed"), refused
    assert "cloud metadata" in refused["messageText"]
    unknown = await client.send("POST", "/dataSources", {**prod.PULL_SOURCE, "host": "nowhere.invalid"})
    assert prod.is_message(unknown, "host_not_resolvable"), unknown
    archive = await client.send(
        "POST", "/dataSources", {**prod.PULL_SOURCE, "host": PUBLIC, "archiveDirectory": "../x"}
    )
    assert prod.is_message(archive, "invalid_archiveDirectory"), archive

    created = await client.send("POST", "/dataSources", {**prod.PULL_SOURCE, "host": PUBLIC})
    changed = await client.send("PATCH", f"/dataSources/{created['id']}", {"host": "127.0.0.1"})
    assert prod.is_message(changed, "host_not_allowed"), changed
    one = await client.send("PUT", f"/dataSources/{created['id']}/host", "10.0.0.1")
    assert prod.is_message(one, "host_not_allowed"), one
    assert (await client.get(f"/dataSources/{created['id']}"))["host"] == PUBLIC


# -- a MOVE that fails after the import is reported by the run ---------------------------------------


async def test_a_move_that_fails_after_the_import_makes_the_run_partial_and_says_why(
    runtime: Runtime, ftp_server: FtpServerInfo
) -> None:
    tenancy: Tenancy = await make_tenancy(runtime)
    ftp_server.put(
        "in/sales.csv", b"saleDate,transactionId,quantity,amount,partnerSkuCode\n2026-01-02,T1,2,10,S\n"
    )
    # A file where the archive directory should be: the server refuses to move anything into it.
    ftp_server.put("in/done", b"not a directory")
    source = await make_source(
        runtime,
        tenancy,
        dataSourceType="FTP",
        host=ftp_server.host,
        port=ftp_server.port,
        user=ftp_server.user,
        password=ftp_server.password,
        workingDirectory="/in",
        filePattern="*.csv",
        afterImport="MOVE",
        archiveDirectory="done",
    )

    summary = await run_source(runtime, tenancy.tenant_id, source.id)

    assert [(f.path, f.state) for f in summary.files] == [("sales.csv", "imported")]
    assert summary.outcome == "partial"
    assert summary.message is not None
    assert summary.message.startswith("sales.csv was imported but could not be moved: cannot move on FTP")
    assert ftp_server.password not in summary.message
    assert (ftp_server.root / "in" / "sales.csv").exists()
