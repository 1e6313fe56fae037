"""Every run and its failure is visible where the user looks: the partner API's runs and datasource,
``/v1`` processing status and ``/prod`` data sources, against a real SFTP server on loopback."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from headwater.access import apikeys, credentials
from headwater.runtime import Runtime
from tests.conftest import make_settings, running_app
from tests.integration.integration_support import connect
from tests.integration.test_import_servers import SALES, Partner, login_fields
from tests.servers import SftpServerInfo
from tests.support.runs import importing_settings, wait_idle
from tests.support.tenants import Tenancy, make_tenancy

pytestmark = pytest.mark.servers

WRONG_PASSWORD = "Wrong-Pa55word-XYZ"


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, Partner, Runtime]]:
    async with running_app(importing_settings(tmp_path)) as (app, client):
        runtime: Runtime = app.state.runtime
        yield app, TenantPartner(client, await make_tenancy(runtime)), runtime


async def runs_of(partner: Partner, source_id: int, **params: Any) -> list[dict[str, Any]]:
    response = await partner.call("GET", f"/partner/datasources/{source_id}/runs", params=params)
    assert response.status_code == 200, response.text
    shown: list[dict[str, Any]] = response.json()["runs"]
    return shown


async def datasource(partner: Partner, source_id: int) -> dict[str, Any]:
    response = await partner.call("GET", f"/partner/datasources/{source_id}")
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()["datasource"]
    return shown


class TenantPartner(Partner):
    """A partner's client that remembers its tenancy."""

    def __init__(self, client: httpx.AsyncClient, tenancy: Tenancy) -> None:
        super().__init__(client, tenancy)
        self.tenancy = tenancy


def now_ms() -> int:
    return int(time.time() * 1000)


async def test_a_refused_sftp_login_is_a_failed_run_with_its_reason_and_without_the_password(
    live: Any, sftp_server: SftpServerInfo
) -> None:
    app, partner, _runtime = live
    source_id = await partner.create(**login_fields(sftp_server, "SFTP", password=WRONG_PASSWORD))
    before = now_ms()

    started = await partner.call("POST", f"/partner/datasources/{source_id}/run")
    assert started.status_code == 202, started.text
    assert started.json()["run"]["status"] == "queued"
    await wait_idle(app)

    [run] = await runs_of(partner, source_id)
    assert run["id"] == started.json()["run"]["id"]
    assert (run["trigger"], run["status"], run["errorCode"]) == ("manual", "failed", "AuthenticationFailed")
    assert run["errorMessage"] and WRONG_PASSWORD not in run["errorMessage"]
    assert before <= run["startedAt"] <= run["finishedAt"] <= now_ms()
    assert (run["files"], run["rowsOk"], run["rowsWithErrors"]) == (0, 0, 0)

    source = await datasource(partner, source_id)
    assert source["lastRunStatus"] == "failed"
    assert source["lastError"] == {
        "code": "AuthenticationFailed",
        "message": run["errorMessage"],
        "at": run["finishedAt"],
    }
    # Backed off by the poll interval (one failure so far), in epoch milliseconds like lastRunningTime.
    assert abs(source["nextRunTime"] - (source["lastRunningTime"] + 3600 * 1000)) <= 1
    listed = (await partner.call("GET", "/partner/datasources")).json()["datasources"]
    assert [s["lastRunStatus"] for s in listed] == ["failed"]


async def test_v1_and_prod_show_the_failed_run_too(live: Any, sftp_server: SftpServerInfo) -> None:
    app, partner, runtime = live
    source_id = await partner.create(**login_fields(sftp_server, "SFTP", password=WRONG_PASSWORD))
    await partner.run_and_wait(app, source_id)

    async with runtime.db.session() as session:
        key = (await apikeys.issue(session, runtime.box, partner.tenancy.tenant_id)).key
    v1 = await partner.client.get(
        "/v1/data_sources?with_processing_status=true", auth=httpx.BasicAuth(key, "")
    )
    [shown] = v1.json()["data_sources"]
    assert shown["processing_status"] == {"processed": 0, "failed": 1, "pending": 0}

    prod = await connect(app, partner.client, "acme")
    source = await prod.get(f"/dataSources/{source_id}")
    assert source["lastRunStatus"] == "failed"
    assert source["lastError"]["code"] == "AuthenticationFailed"
    assert WRONG_PASSWORD not in source["lastError"]["message"]
    assert source["lastError"]["at"].endswith("Z") and source["nextRunTime"].endswith("Z")
    [run] = await prod.get(f"/dataSources/{source_id}/runs")
    assert (run["outcome"], run["errorCode"]) == ("failed", "AuthenticationFailed")


async def test_a_private_host_is_a_failed_run_naming_the_refusal(
    tmp_path: Path, sftp_server: SftpServerInfo
) -> None:
    # Created while private hosts were allowed; the operator has since turned the guard on.
    created = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}")
    async with running_app(created) as (app, client):
        tenancy = await make_tenancy(app.state.runtime)
        source_id = await Partner(client, tenancy).create(
            **login_fields(sftp_server, "SFTP", password=sftp_server.password)
        )
    async with running_app(importing_settings(tmp_path, allow_private_hosts=False)) as (app, client):
        partner = Partner(client, tenancy)
        await partner.run_and_wait(app, source_id)

        # The newest; the runner may also have polled the source, which was due, by itself.
        run = (await runs_of(partner, source_id))[0]
        assert (run["status"], run["errorCode"]) == ("failed", "HostRefused")
        assert (await datasource(partner, source_id))["lastError"]["code"] == "HostRefused"


async def test_a_run_after_the_password_is_fixed_shows_its_counts_and_clears_the_error(
    live: Any, sftp_server: SftpServerInfo
) -> None:
    app, partner, _runtime = live
    sftp_server.put("in/sales.csv", SALES)
    fields = login_fields(sftp_server, "SFTP", password=WRONG_PASSWORD)
    source_id = await partner.create(**fields)
    await partner.run_and_wait(app, source_id)
    body = {
        **fields,
        "password": sftp_server.password,
        "workingDirectory": "/in",
        "processorType": 25011,
        "authenticationType": "PASSWORD",
        "touchpointCode": partner.code,
    }
    assert (await partner.call("PUT", f"/partner/datasources/{source_id}", json=body)).status_code == 200

    await partner.run_and_wait(app, source_id)

    latest, failed = await runs_of(partner, source_id)
    assert failed["status"] == "failed"
    assert (latest["status"], latest["errorCode"], latest["errorMessage"]) == ("succeeded", None, None)
    assert (latest["files"], latest["filesSeen"], latest["rowsOk"], latest["rowsWithErrors"]) == (1, 1, 2, 1)
    source = await datasource(partner, source_id)
    assert (source["lastRunStatus"], source["lastError"]) == ("succeeded", None)


async def upload(partner: Partner, source_id: int, content: bytes = SALES) -> None:
    response = await partner.call(
        "POST",
        "/import/file",
        params={"name": "sales.csv", "datasourceId": source_id},
        files={"file": ("sales.csv", content)},
    )
    assert response.status_code == 200, response.text


async def test_runs_are_listed_newest_first_a_page_at_a_time(live: Any) -> None:
    _app, partner, _runtime = live
    source_id = await partner.create(
        host="files.example.com", user="u", password="p4ssword", dataSourceType="SFTP"
    )
    for n in range(3):
        await upload(partner, source_id, SALES.replace(b"T-", f"R{n}-".encode()))
    await upload(partner, source_id, b"\x00\x01 not a table")

    everything = await runs_of(partner, source_id)
    assert [run["trigger"] for run in everything] == ["upload"] * 4
    assert [run["id"] for run in everything] == sorted((run["id"] for run in everything), reverse=True)
    assert [run["status"] for run in everything] == ["failed", "succeeded", "succeeded", "succeeded"]
    assert everything[0]["errorCode"] and everything[0]["errorMessage"]
    assert (everything[1]["files"], everything[1]["rowsOk"], everything[1]["rowsWithErrors"]) == (1, 2, 1)
    assert await runs_of(partner, source_id, maxNumRows=2) == everything[:2]
    assert await runs_of(partner, source_id, firstRow=2, maxNumRows=2) == everything[2:]
    assert await runs_of(partner, source_id, firstRow=4) == []
    for bad in ({"maxNumRows": 0}, {"maxNumRows": 1001}, {"firstRow": -1}, {"maxNumRows": "x"}):
        response = await partner.call("GET", f"/partner/datasources/{source_id}/runs", params=bad)
        assert response.status_code == 400, bad
        assert response.json() == {"errors": {"request": "InvalidRequest"}}


async def test_another_partners_runs_are_not_found(live: Any) -> None:
    _app, partner, runtime = live
    source_id = await partner.create(
        host="files.example.com", user="u", password="p4ssword", dataSourceType="SFTP"
    )
    await upload(partner, source_id)
    other_tenant = Partner(partner.client, await make_tenancy(runtime, name="other", code="REST02"))
    async with runtime.db.session() as session:
        await credentials.create_partner(
            session, partner.tenancy.tenant_id, "colleague@acme.example", password="pw-colleague"
        )
    colleague = Partner(
        partner.client,
        dataclasses.replace(partner.tenancy, principal="colleague@acme.example", password="pw-colleague"),
    )

    for stranger in (other_tenant, colleague):
        for path in (f"/partner/datasources/{source_id}/runs", "/partner/datasources/999/runs"):
            response = await stranger.call("GET", path)
            assert response.status_code == 404, response.text
            assert response.json() == {"errors": {"partnerDataSource": "NotFound"}}
    assert len(await runs_of(partner, source_id)) == 1


# --- schedules ------------------------------------------------------------------------------------


async def create_answer(partner: Partner, **fields: Any) -> httpx.Response:
    return await partner.call("POST", "/partner/datasources", json=sftp_body(partner, **fields))


def sftp_body(partner: Partner, **fields: Any) -> dict[str, Any]:
    """An SFTP source of the partner's touchpoint, as the partner API and ``/prod`` create it, with ``fields`` on top."""
    return {
        "host": "files.example.com",
        "user": "u",
        "password": "p4ssword",
        "dataSourceType": "SFTP",
        "workingDirectory": "/in",
        "processorType": 25011,
        "authenticationType": "PASSWORD",
        "touchpointCode": partner.code,
        **fields,
    }


@pytest.mark.parametrize(
    "schedule",
    [59, 31 * 24 * 3600 + 1, True, 1.5, "61 * * * *", "0 0 30 2 *", "* * * *", "0 3 * * * *", "x" * 101],
)
async def test_an_invalid_schedule_is_refused_in_each_dialect(live: Any, schedule: Any) -> None:
    app, partner, _runtime = live

    response = await create_answer(partner, schedule=schedule)

    assert response.status_code == 400
    assert response.json() == {"errors": {"partnerDataSource": "InvalidSchedule"}}
    prod = await connect(app, partner.client, "acme")
    answer = await prod.send("POST", "/dataSources", sftp_body(partner, schedule=schedule))
    assert answer["messageCode"] == "invalid_schedule"


async def test_an_interval_schedule_runs_at_once_then_every_interval(live: Any) -> None:
    _app, partner, _runtime = live
    before = now_ms()

    response = await create_answer(partner, schedule=600)

    assert response.status_code == 201, response.text
    created = response.json()["datasource"]
    assert created["schedule"] == 600
    assert before - 1 <= created["nextRunTime"] <= now_ms()  # a new source is polled at once
    await upload(partner, created["id"])  # an upload is no poll: the schedule stands
    assert (await datasource(partner, created["id"]))["nextRunTime"] == created["nextRunTime"]


async def test_a_cron_schedule_names_its_next_time_and_can_be_changed(live: Any) -> None:
    _app, partner, _runtime = live

    response = await create_answer(partner, schedule=" 30  3 * * * ")

    assert response.status_code == 201, response.text
    created = response.json()["datasource"]
    assert created["schedule"] == "30 3 * * *"
    next_run = datetime.fromtimestamp(created["nextRunTime"] / 1000, UTC)
    assert (next_run.hour, next_run.minute, next_run.second) == (3, 30, 0)
    assert timedelta(0) < next_run - datetime.now(UTC) <= timedelta(days=1)

    body = {**created, "password": "********", "schedule": "0 12 * * 1"}
    changed = (await partner.call("PUT", f"/partner/datasources/{created['id']}", json=body)).json()[
        "datasource"
    ]
    monday_noon = datetime.fromtimestamp(changed["nextRunTime"] / 1000, UTC)
    assert (monday_noon.weekday(), monday_noon.hour, monday_noon.minute) == (0, 12, 0)

    body["schedule"] = None
    back = (await partner.call("PUT", f"/partner/datasources/{created['id']}", json=body)).json()[
        "datasource"
    ]
    assert back["schedule"] is None


async def test_prod_takes_a_schedule_on_create_and_change(live: Any) -> None:
    app, partner, _runtime = live
    prod = await connect(app, partner.client, "acme")
    created = await prod.send("POST", "/dataSources", sftp_body(partner, schedule="3600"))
    assert created["schedule"] == 3600

    changed = await prod.send("PATCH", f"/dataSources/{created['id']}", {"schedule": "*/15 * * * *"})
    assert changed["schedule"] == "*/15 * * * *"
    assert datetime.fromisoformat(changed["nextRunTime"]).minute % 15 == 0
    refused = await prod.send("PUT", f"/dataSources/{created['id']}/schedule", 10)
    assert refused["messageCode"] == "invalid_schedule"
