"""``headwater source test|reset-host-key|reimport`` and ``headwater file reimport`` against a real SFTP server,
as a script would run them: ``--json`` and one JSON object out."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from headwater.ingest.uploads import import_upload
from headwater.runtime import open_runtime
from headwater.settings import Settings
from headwater.store.tables import PartnerSale
from tests.conftest import SECRET_KEY, make_settings
from tests.integration.test_source_controls import MORE_SALES, SALES, openssh_fingerprint
from tests.servers import SftpServerInfo
from tests.support.cli import JsonCli
from tests.support.tenants import make_source, make_tenancy

pytestmark = pytest.mark.servers


class Cli(JsonCli):
    """The commands on the test's SQLite file, allowed to reach the loopback servers."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            {
                "HEADWATER_SECRET_KEY": SECRET_KEY,
                "HEADWATER_DATABASE_URL": settings.database_url,
                "HEADWATER_ALLOW_PRIVATE_HOSTS": "true",
                "HEADWATER_CONNECT_TIMEOUT": "5",
            }
        )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")


def sftp_source(settings: Settings, sftp: SftpServerInfo) -> int:
    async def make() -> int:
        async with open_runtime(settings) as runtime:
            tenancy = await make_tenancy(runtime)
            source = await make_source(
                runtime, tenancy, host=sftp.host, port=sftp.port, user=sftp.user, password=sftp.password
            )
            return source.id

    return asyncio.run(make())


def sales(settings: Settings) -> list[str]:
    async def read() -> list[str]:
        async with open_runtime(settings) as runtime, runtime.db.session() as session:
            found = await session.scalars(
                select(PartnerSale.transaction_id).order_by(PartnerSale.transaction_id)
            )
            return list(found)

    return asyncio.run(read())


def test_an_operator_tests_reimports_and_resets_a_changed_host_key(
    settings: Settings, sftp_server: SftpServerInfo
) -> None:
    cli = Cli(settings)
    sftp_server.put("in/sales.csv", SALES)
    source_id = sftp_source(settings, sftp_server)
    first = openssh_fingerprint(sftp_server.host_key)

    tested = cli("source", "test", str(source_id))
    assert (tested["ok"], tested["hostKeyFingerprint"], tested["hostKeyPinned"]) == (True, first, False)
    assert [(f["name"], f["importNow"], f["reason"]) for f in tested["files"]] == [("sales.csv", True, "new")]

    ran = cli("source", "reimport", str(source_id), "--run")
    assert ran["filesMarked"] == 0
    assert ran["run"]["outcome"] == "succeeded" and ran["run"]["filesImported"] == 1
    assert ran["run"]["message"] == f"pinned new host key {first}"
    assert sales(settings) == ["T-1", "T-2"]

    marked = cli("source", "reimport", str(source_id))
    assert marked == {"sourceId": source_id, "filesMarked": 1}
    tested = cli("source", "test", str(source_id))
    assert [(f["name"], f["importNow"], f["reason"]) for f in tested["files"]] == [
        ("sales.csv", True, "reimportRequested")
    ]

    sftp_server.put("in/more.csv", MORE_SALES)
    second = openssh_fingerprint(sftp_server.restart_with_new_host_key())
    refused = cli("source", "test", str(source_id), code=1)
    assert (refused["ok"], refused["code"], refused["hostKeyFingerprint"]) == (False, "HostKeyChanged", first)

    reset = cli("source", "reset-host-key", str(source_id))
    assert reset == {"sourceId": source_id, "forgottenHostKeyFingerprint": first}
    ran = cli("source", "reimport", str(source_id), "--run")
    assert (ran["run"]["outcome"], ran["run"]["filesImported"]) == ("succeeded", 2)
    assert ran["run"]["message"] == f"pinned new host key {second}"
    assert sales(settings) == ["T-1", "T-2", "U-1", "U-2"]


def test_an_operator_reimports_one_file(settings: Settings, sftp_server: SftpServerInfo) -> None:
    cli = Cli(settings)
    sftp_server.put("in/sales.csv", SALES)
    source_id = sftp_source(settings, sftp_server)
    ran = cli("run", str(source_id))
    [file_id] = [f["fileId"] for f in ran["files"]]

    again = cli("file", "reimport", str(file_id), "--run")

    assert {k: again[k] for k in ("fileId", "sourceId", "state")} == {
        "fileId": file_id,
        "sourceId": source_id,
        "state": "reimport",
    }
    assert (again["run"]["outcome"], again["run"]["filesImported"]) == ("succeeded", 1)
    assert sales(settings) == ["T-1", "T-2"]


def test_an_uploaded_or_unknown_file_is_a_clear_error(settings: Settings) -> None:
    cli = Cli(settings)

    async def upload() -> int:
        async with open_runtime(settings) as runtime:
            tenancy = await make_tenancy(runtime)
            row = await import_upload(
                runtime,
                tenancy.tenant_id,
                source_id=None,
                name="s.csv",
                processor_type=25011,
                data=io.BytesIO(SALES),
                owner_partner_id=tenancy.partner_id,
            )
            return row.id

    file_id = asyncio.run(upload())

    assert cli("file", "reimport", str(file_id), code=1)["error"]["code"] == "NotReimportable"
    assert cli("file", "reimport", "999999", code=1)["error"]["code"] == "NotFound"
    assert cli("source", "test", "999999", code=1)["error"]["code"] == "NotFound"
