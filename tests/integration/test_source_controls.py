"""End to end against a real SFTP server: test a connection, reset a changed host key, re-import files,
through the partner API and the integration API; another partner or area reaches none of it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from headwater.ingest.connection_checks import MAX_CONCURRENT_CHECKS
from headwater.runtime import Runtime
from headwater.settings import Settings
from headwater.store.tables import Run
from tests.conftest import make_settings, running_app
from tests.integration.integration_support import add_tenant, connect, is_message
from tests.integration.test_import_servers import SALES, Partner, login_fields
from tests.servers import PASSWORD, SftpServerInfo
from tests.support.runs import importing_settings, sales_of, wait_idle
from tests.support.tenants import make_tenancy

pytestmark = pytest.mark.servers

MORE_SALES = SALES.replace(b"T-", b"U-")


def openssh_fingerprint(public_key: str) -> str:
    """What ``ssh-keygen -lf`` prints for an OpenSSH public key line."""
    blob = base64.b64decode(public_key.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


@pytest.fixture
def control_settings(tmp_path: Path) -> Settings:
    return importing_settings(tmp_path, connect_timeout=5)


@pytest.fixture
async def live(control_settings: Settings) -> AsyncIterator[tuple[FastAPI, Partner, Runtime]]:
    async with running_app(control_settings) as (app, client):
        runtime: Runtime = app.state.runtime
        yield app, Partner(client, await make_tenancy(runtime)), runtime


async def runs_of(runtime: Runtime, source_id: int) -> list[tuple[str, str | None, int]]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(Run.outcome, Run.message, Run.files_imported)
            .where(Run.data_source_id == source_id)
            .order_by(Run.id)
        )
        return [(outcome, message, imported) for outcome, message, imported in rows]


async def datasource(partner: Partner, source_id: int) -> dict[str, Any]:
    response = await partner.call("GET", f"/partner/datasources/{source_id}")
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()["datasource"]
    return shown


async def connection_test(partner: Partner, path: str, **kwargs: Any) -> dict[str, Any]:
    response = await partner.call("POST", path, **kwargs)
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()["connectionTest"]
    return shown


def sftp_fields(server: SftpServerInfo, **overrides: Any) -> dict[str, Any]:
    return {**login_fields(server, "SFTP", password=server.password), **overrides}


# -- test a connection ----------------------------------------------------------------------------


async def test_a_connection_test_lists_the_files_and_which_a_run_would_import_now(
    live: Any, sftp_server: SftpServerInfo
) -> None:
    app, partner, runtime = live
    sftp_server.put("in/sales.csv", SALES)
    sftp_server.put("in/notes.txt", b"not a sales file\n")
    source_id = await partner.create(**sftp_fields(sftp_server, filePattern="*.csv"))
    await partner.run_and_wait(app, source_id)
    sftp_server.put("in/later.csv", MORE_SALES)

    tested = await connection_test(partner, f"/partner/datasources/{source_id}/test")

    assert tested["ok"] is True and tested["code"] is None and tested["message"] is None
    assert tested["hostKeyFingerprint"] == openssh_fingerprint(sftp_server.host_key)
    assert tested["hostKeyPinned"] is True
    assert (tested["filesSeen"], tested["filesToImport"]) == (3, 1)
    assert [(f["name"], f["size"], f["importNow"], f["reason"]) for f in tested["files"]] == [
        ("later.csv", len(MORE_SALES), True, "new"),
        ("notes.txt", len(b"not a sales file\n"), False, "excludedByPattern"),
        ("sales.csv", len(SALES), False, "unchanged"),
    ]
    assert all(isinstance(f["modified"], int) for f in tested["files"])
    assert await sales_of(runtime, source_id) == ["T-1", "T-2"]  # nothing imported by the test
    assert len(await runs_of(runtime, source_id)) == 1


async def test_a_connection_test_pins_no_host_key(live: Any, sftp_server: SftpServerInfo) -> None:
    _app, partner, _runtime = live
    sftp_server.put("in/sales.csv", SALES)
    source_id = await partner.create(**sftp_fields(sftp_server))

    tested = await connection_test(partner, f"/partner/datasources/{source_id}/test")

    assert tested["ok"] is True
    assert tested["hostKeyFingerprint"] == openssh_fingerprint(sftp_server.host_key)
    assert tested["hostKeyPinned"] is False
    assert (await datasource(partner, source_id))["hostKeyFingerprint"] is None


async def test_a_wrong_password_fails_the_test_with_its_code_and_without_the_secret(
    live: Any, sftp_server: SftpServerInfo
) -> None:
    _app, partner, _runtime = live
    wrong = "Wrong-Pa55word-XYZ"
    source_id = await partner.create(**sftp_fields(sftp_server, password=wrong))

    response = await partner.call("POST", f"/partner/datasources/{source_id}/test")

    assert response.status_code == 200
    tested = response.json()["connectionTest"]
    assert (tested["ok"], tested["code"], tested["files"]) == (False, "AuthenticationFailed", [])
    assert "refused the credentials" in tested["message"]
    assert wrong not in response.text and PASSWORD not in response.text


async def test_an_unsaved_body_is_tested_and_stored_nowhere(live: Any, sftp_server: SftpServerInfo) -> None:
    _app, partner, runtime = live
    sftp_server.put("in/sales.csv", SALES)
    body = {
        "workingDirectory": "/in",
        "processorType": 25011,
        "authenticationType": "PASSWORD",
        "touchpointCode": partner.code,
        **sftp_fields(sftp_server),
    }

    tested = await connection_test(partner, "/partner/datasources/test", json=body)

    assert tested["ok"] is True and tested["hostKeyPinned"] is False
    assert [(f["name"], f["importNow"], f["reason"]) for f in tested["files"]] == [("sales.csv", True, "new")]
    listed = (await partner.call("GET", "/partner/datasources")).json()["datasources"]
    assert listed == []
    assert await sales_of(runtime, 0) == []


async def test_an_unsaved_body_is_validated_like_a_create_body(live: Any) -> None:
    _app, partner, _runtime = live

    response = await partner.call(
        "POST", "/partner/datasources/test", json={"dataSourceType": "SFTP", "touchpointCode": partner.code}
    )

    assert response.status_code == 400
    assert '"partnerDataSource": "HostRequired"' in response.text


async def test_a_connection_test_refuses_a_private_host_unless_allowed(
    tmp_path: Path, sftp_server: SftpServerInfo
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'guarded.db'}"
    # Created while private hosts were allowed; the operator has since turned the guard on.
    async with running_app(make_settings(tmp_path, database)) as (_app, client):
        tenancy = await make_tenancy(_app.state.runtime)
        source_id = await Partner(client, tenancy).create(**sftp_fields(sftp_server))
    guarded = make_settings(tmp_path, database, allow_private_hosts=False)
    async with running_app(guarded) as (_app, client):
        tested = await connection_test(Partner(client, tenancy), f"/partner/datasources/{source_id}/test")

    assert (tested["ok"], tested["code"]) == (False, "HostRefused")
    assert "loopback" in tested["message"]


async def test_a_server_that_never_answers_fails_the_test_within_the_connect_timeout(
    tmp_path: Path,
) -> None:
    impatient = make_settings(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'impatient.db'}", connect_timeout=0.5
    )
    with socket.socket() as silent:  # accepts connections (the kernel does) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        async with running_app(impatient) as (app, client):
            partner = Partner(client, await make_tenancy(app.state.runtime))
            source_id = await partner.create(
                host="127.0.0.1", port=silent.getsockname()[1], user="u", password="p", dataSourceType="SFTP"
            )

            tested = await connection_test(partner, f"/partner/datasources/{source_id}/test")

    assert (tested["ok"], tested["code"]) == (False, "ConnectionFailed")
    assert "timed out" in tested["message"]


async def test_tests_past_the_concurrency_limit_are_refused_with_a_retry_after(tmp_path: Path) -> None:
    impatient = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}", connect_timeout=2)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        async with running_app(impatient) as (app, client):
            partner = Partner(client, await make_tenancy(app.state.runtime))
            source_id = await partner.create(
                host="127.0.0.1", port=silent.getsockname()[1], user="u", password="p", dataSourceType="SFTP"
            )

            answers = await asyncio.gather(
                *(
                    partner.call("POST", f"/partner/datasources/{source_id}/test")
                    for _ in range(MAX_CONCURRENT_CHECKS + 1)
                )
            )

    refused = [a for a in answers if a.status_code == 429]
    assert len(refused) == 1
    assert refused[0].json() == {"errors": {"request": "TooManyRequests"}}
    assert refused[0].headers["Retry-After"] == "2"
    assert all(a.json()["connectionTest"]["code"] == "ConnectionFailed" for a in answers if a not in refused)


# -- host keys ------------------------------------------------------------------------------------


async def test_a_changed_host_key_fails_until_reset_then_the_next_run_pins_the_new_key(
    live: Any, sftp_server: SftpServerInfo
) -> None:
    app, partner, runtime = live
    sftp_server.put("in/sales.csv", SALES)
    source_id = await partner.create(**sftp_fields(sftp_server))
    first_key = sftp_server.host_key
    await partner.run_and_wait(app, source_id)
    first = openssh_fingerprint(first_key)
    assert (await datasource(partner, source_id))["hostKeyFingerprint"] == first
    assert (await runs_of(runtime, source_id))[-1][1] == f"pinned new host key {first}"

    second_key = sftp_server.restart_with_new_host_key()
    sftp_server.put("in/more.csv", MORE_SALES)
    await partner.run_and_wait(app, source_id)

    outcome, message, _ = (await runs_of(runtime, source_id))[-1]
    assert outcome == "failed" and "host key" in (message or "")
    assert (await datasource(partner, source_id))["hostKeyFingerprint"] == first
    tested = await connection_test(partner, f"/partner/datasources/{source_id}/test")
    assert (tested["ok"], tested["code"], tested["hostKeyFingerprint"]) == (False, "HostKeyChanged", first)
    assert (await datasource(partner, source_id))["hostKeyFingerprint"] == first  # the test changed nothing

    reset = await partner.call("POST", f"/partner/datasources/{source_id}/host-key/reset")
    assert reset.status_code == 200, reset.text
    assert reset.json()["forgottenHostKeyFingerprint"] == first
    assert reset.json()["datasource"]["hostKeyFingerprint"] is None
    await partner.run_and_wait(app, source_id)

    second = openssh_fingerprint(second_key)
    assert (await runs_of(runtime, source_id))[-1] == ("succeeded", f"pinned new host key {second}", 1)
    assert (await datasource(partner, source_id))["hostKeyFingerprint"] == second
    assert await sales_of(runtime, source_id) == ["T-1", "T-2", "U-1", "U-2"]


# -- re-import ------------------------------------------------------------------------------------


async def imported_source(
    app: FastAPI, partner: Partner, server: SftpServerInfo, files: dict[str, bytes]
) -> int:
    """A source of the partner over ``server``'s ``/in``, holding ``files``, run once."""
    for name, content in files.items():
        server.put(f"in/{name}", content)
    source_id = await partner.create(**sftp_fields(server))
    await partner.run_and_wait(app, source_id)
    return source_id


async def imports_of(partner: Partner, source_id: int) -> list[dict[str, Any]]:
    response = await partner.call("GET", f"/partner/datasources/{source_id}/imports")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["imports"]
    return found


async def test_a_reimported_file_replaces_its_rows_exactly_once(
    live: Any, sftp_server: SftpServerInfo
) -> None:
    app, partner, runtime = live
    source_id = await imported_source(app, partner, sftp_server, {"sales.csv": SALES, "more.csv": MORE_SALES})
    before = await sales_of(runtime, source_id)
    [more, sales] = sorted(await imports_of(partner, source_id), key=lambda f: f["name"])

    response = await partner.call("POST", f"/partner/datasources/{source_id}/imports/{sales['id']}/reimport")
    assert response.status_code == 202, response.text
    assert response.json()["import"]["state"] == "reimport"
    assert response.json()["run"] == {"partnerDatasourceId": source_id, "status": "queued"}
    await wait_idle(app)

    assert await sales_of(runtime, source_id) == before == ["T-1", "T-2", "U-1", "U-2"]
    after = {f["name"]: f for f in await imports_of(partner, source_id)}
    assert (after["sales.csv"]["state"], after["sales.csv"]["rowsOk"], after["sales.csv"]["rowsSkipped"]) == (
        "imported",
        2,
        0,
    )
    assert after["sales.csv"]["id"] == sales["id"]
    assert after["more.csv"]["finishedAt"] == more["finishedAt"]  # left alone
    assert [(outcome, imported) for outcome, _, imported in await runs_of(runtime, source_id)] == [
        ("succeeded", 2),
        ("succeeded", 1),
    ]


async def test_reimporting_a_source_imports_every_file_again_without_duplicates(
    live: Any, sftp_server: SftpServerInfo
) -> None:
    app, partner, runtime = live
    source_id = await imported_source(app, partner, sftp_server, {"sales.csv": SALES, "more.csv": MORE_SALES})

    response = await partner.call("POST", f"/partner/datasources/{source_id}/reimport")
    assert response.status_code == 202, response.text
    assert response.json()["reimport"] == {"partnerDatasourceId": source_id, "files": 2}
    await wait_idle(app)

    assert await sales_of(runtime, source_id) == ["T-1", "T-2", "U-1", "U-2"]
    assert (await runs_of(runtime, source_id))[-1][::2] == ("succeeded", 2)


async def test_an_uploaded_file_cannot_be_reimported(live: Any) -> None:
    _app, partner, _runtime = live
    uploaded = await partner.call(
        "POST", "/import/file", params={"name": "s.csv", "type": 25011}, files={"file": ("s.csv", SALES)}
    )
    assert uploaded.status_code == 200, uploaded.text
    file_id, source_id = uploaded.json()["id"], uploaded.json()["partnerDatasourceId"]

    for path in (
        f"/partner/datasources/{source_id}/imports/{file_id}/reimport",
        f"/partner/datasources/{source_id}/reimport",
    ):
        response = await partner.call("POST", path)
        assert response.status_code == 400, (path, response.text)
        assert response.json() == {"errors": {"request": "NotReimportable"}}


async def test_a_file_uploaded_into_a_pull_source_cannot_be_reimported_but_its_pulled_files_can(
    live: Any, sftp_server: SftpServerInfo
) -> None:
    app, partner, runtime = live
    source_id = await imported_source(app, partner, sftp_server, {"sales.csv": SALES})
    uploaded = await partner.call(
        "POST",
        "/import/file",
        params={"name": "extra.csv", "datasourceId": source_id},
        files={"file": ("extra.csv", MORE_SALES)},
    )
    assert uploaded.status_code == 200, uploaded.text

    refused = await partner.call(
        "POST", f"/partner/datasources/{source_id}/imports/{uploaded.json()['id']}/reimport"
    )
    marked = await partner.call("POST", f"/partner/datasources/{source_id}/reimport")
    await wait_idle(app)

    assert refused.json() == {"errors": {"request": "NotReimportable"}}
    assert marked.json()["reimport"]["files"] == 1
    assert await sales_of(runtime, source_id) == ["T-1", "T-2", "U-1", "U-2"]
    states = {f["name"]: f["state"] for f in await imports_of(partner, source_id)}
    assert states == {"sales.csv": "imported", "extra.csv": "imported"}


# -- isolation ------------------------------------------------------------------------------------


async def test_another_partner_reaches_none_of_the_controls(live: Any, sftp_server: SftpServerInfo) -> None:
    app, partner, runtime = live
    sftp_server.put("in/sales.csv", SALES)
    source_id = await partner.create(**sftp_fields(sftp_server))
    await partner.run_and_wait(app, source_id)
    [imported] = await imports_of(partner, source_id)
    other = Partner(partner.client, await make_tenancy(runtime, name="other", code="REST02"))

    for path in (
        f"/partner/datasources/{source_id}/test",
        f"/partner/datasources/{source_id}/host-key/reset",
        f"/partner/datasources/{source_id}/imports/{imported['id']}/reimport",
        f"/partner/datasources/{source_id}/reimport",
    ):
        response = await other.call("POST", path)
        assert response.status_code == 404, (path, response.text)
        assert response.json() == {"errors": {"partnerDataSource": "NotFound"}}
    assert (await datasource(partner, source_id))["hostKeyFingerprint"] is not None
    assert (await imports_of(partner, source_id))[0]["state"] == "imported"


# -- the integration API --------------------------------------------------------------------------


async def test_the_integration_api_tests_resets_and_reimports_within_its_area(
    control_settings: Settings, sftp_server: SftpServerInfo
) -> None:
    sftp_server.put("in/sales.csv", SALES)
    async with running_app(control_settings) as (app, http):
        runtime: Runtime = app.state.runtime
        await add_tenant(runtime, "acme")
        await add_tenant(runtime, "globex")
        acme = await connect(app, http, "acme")
        globex = await connect(app, http, "globex")
        body = {
            "host": sftp_server.host,
            "port": sftp_server.port,
            "user": sftp_server.user,
            "password": sftp_server.password,
            "workingDirectory": "/in",
            "processorType": 25011,
            "authenticationType": "PASSWORD",
            "dataSourceType": "SFTP",
            "touchpointCode": "shop",
        }

        unsaved = await acme.send("POST", "/dataSources/test", body)
        assert unsaved["ok"] is True and "code" not in unsaved
        assert [(f["name"], f["importNow"], f["reason"]) for f in unsaved["files"]] == [
            ("sales.csv", True, "new")
        ]
        assert isinstance(unsaved["files"][0]["modified"], str)
        source = await acme.send("POST", "/dataSources", body)
        source_id = source["id"]
        assert "hostKeyFingerprint" not in source
        assert (await acme.send("POST", f"/dataSources/{source_id}/runs", None))["outcome"] == "requested"
        await wait_idle(app)
        shown = await acme.get(f"/dataSources/{source_id}")
        assert shown["hostKeyFingerprint"] == openssh_fingerprint(sftp_server.host_key)
        [imported] = await acme.get(f"/dataSources/{source_id}/importFiles")

        tested = await acme.send("POST", f"/dataSources/{source_id}/test", None)
        assert (tested["ok"], tested["filesToImport"]) == (True, 0)
        for path in (
            f"/dataSources/{source_id}/test",
            f"/dataSources/{source_id}/hostKey/reset",
            f"/dataSources/{source_id}/reimport",
        ):
            assert is_message(await globex.send("POST", path, None), "not_found_DataSource"), path
        assert is_message(
            await globex.send("POST", f"/importFiles/{imported['id']}/reimport", None), "not_found_ImportFile"
        )

        reimported = await acme.send("POST", f"/importFiles/{imported['id']}/reimport", None)
        assert reimported == {"dataSourceId": source_id, "filesMarked": 1, "run": "queued"}
        await wait_idle(app)
        assert await sales_of(runtime, source_id) == ["T-1", "T-2"]
        assert (await acme.get(f"/importFiles/{imported['id']}"))["state"] == "imported"
        marked = await acme.send("POST", f"/dataSources/{source_id}/reimport", None)
        assert marked == {"dataSourceId": source_id, "filesMarked": 1, "run": "queued"}
        await wait_idle(app)
        assert await sales_of(runtime, source_id) == ["T-1", "T-2"]

        reset = await acme.send("POST", f"/dataSources/{source_id}/hostKey/reset", None)
        assert reset["id"] == source_id and "hostKeyFingerprint" not in reset
        async with runtime.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(Run)) == 3


async def test_the_integration_api_validates_an_unsaved_body_like_a_create_body(
    control_settings: Settings,
) -> None:
    async with running_app(control_settings) as (app, http):
        await add_tenant(app.state.runtime, "acme")
        acme = await connect(app, http, "acme")

        response = await acme.request(
            "POST", "/dataSources/test", json={"dataSourceType": "SFTP", "touchpointCode": "shop"}
        )

        assert response.status_code == 200
        assert is_message(response.json(), "missing_host")
        assert await acme.get("/dataSources") == []
