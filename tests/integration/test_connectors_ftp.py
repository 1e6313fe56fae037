"""FTP and explicit FTPS against pyftpdlib on loopback."""

from __future__ import annotations

import io
import os

import pytest

from headwater.errors import ConnectionFailed, TransferFailed
from headwater.ingest.connectors import connector_for
from headwater.settings import Settings
from tests.servers import FtpServerInfo

pytestmark = pytest.mark.servers


async def test_relative_working_directory_is_relative_to_the_login_directory(
    ftp_server: FtpServerInfo, connector_settings: Settings
) -> None:
    ftp_server.put("drop/a.csv", b"1\n")
    async with connector_for(ftp_server.config("drop"), connector_settings) as connector:
        assert [f.path for f in await connector.list_files()] == ["a.csv"]


async def test_plain_ftp_is_refused_by_a_server_requiring_tls(
    ftps_server: FtpServerInfo, connector_settings: Settings
) -> None:
    with pytest.raises(ConnectionFailed, match="FTP server"):
        async with connector_for(ftps_server.config(tls=False), connector_settings):
            pass


async def test_ftps_kind_turns_tls_on(ftps_server: FtpServerInfo, connector_settings: Settings) -> None:
    ftps_server.put("in/a.csv", b"secure\n")
    async with connector_for(
        ftps_server.config("/in", kind="FTPS", tls=False), connector_settings
    ) as connector:
        sink = io.BytesIO()
        await connector.download("a.csv", sink)
    assert sink.getvalue() == b"secure\n"


@pytest.mark.parametrize("server_fixture", ["ftp_server", "ftps_server"])
async def test_a_file_over_the_size_limit_is_refused_and_the_connection_stays_usable(
    server_fixture: str, request: pytest.FixtureRequest
) -> None:
    server: FtpServerInfo = request.getfixturevalue(server_fixture)
    server.put("in/big.bin", os.urandom(2 * 1024 * 1024))
    server.put("in/small.csv", b"ok\n")
    limited = Settings(allow_private_hosts=True, connect_timeout=5, max_file_size=1024 * 1024)

    async with connector_for(server.config("/in"), limited) as connector:
        with pytest.raises(TransferFailed, match="larger than the limit"):
            await connector.download("big.bin", io.BytesIO())
        sink = io.BytesIO()
        await connector.download("small.csv", sink)
        assert [f.path for f in await connector.list_files()] == ["big.bin", "small.csv"]
    assert sink.getvalue() == b"ok\n"
