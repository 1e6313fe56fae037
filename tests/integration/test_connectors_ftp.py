"""FTP and explicit FTPS against pyftpdlib on loopback."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime

import pytest

from headwater.connectors import connector_for
from headwater.errors import ConnectionFailed, SourceAuthenticationFailed, TransferFailed
from headwater.settings import Settings
from tests.servers import FtpServerInfo

pytestmark = pytest.mark.servers


@pytest.fixture
def settings() -> Settings:
    return Settings(allow_private_hosts=True, connect_timeout=5)


@pytest.mark.parametrize("server_fixture", ["ftp_server", "ftps_server"])
async def test_wrong_password_is_an_authentication_failure_that_does_not_reveal_it(
    server_fixture: str, request: pytest.FixtureRequest, settings: Settings
) -> None:
    server: FtpServerInfo = request.getfixturevalue(server_fixture)
    wrong = "Wrong-Pa55word-xyz"
    with pytest.raises(SourceAuthenticationFailed) as failure:
        async with connector_for(server.config(password=wrong), settings):
            pass
    for text in (str(failure.value), repr(failure.value), str(failure.value.__cause__)):
        assert wrong not in text
        assert server.password not in text


async def test_listing_reports_the_server_mtime_in_utc(ftp_server: FtpServerInfo, settings: Settings) -> None:
    stamp = datetime(2024, 3, 1, 12, 30, 15, tzinfo=UTC)
    ftp_server.put("in/dated.csv", b"1\n", mtime=stamp)

    async with connector_for(ftp_server.config("/in"), settings) as connector:
        (listed,) = await connector.list_files()

    assert listed.mtime == stamp
    assert listed.identity is None


async def test_relative_working_directory_is_relative_to_the_login_directory(
    ftp_server: FtpServerInfo, settings: Settings
) -> None:
    ftp_server.put("drop/a.csv", b"1\n")
    async with connector_for(ftp_server.config("drop"), settings) as connector:
        assert [f.path for f in await connector.list_files()] == ["a.csv"]


async def test_missing_working_directory_fails_the_connection(
    ftp_server: FtpServerInfo, settings: Settings
) -> None:
    async with connector_for(ftp_server.config("/nowhere"), settings) as connector:
        with pytest.raises(ConnectionFailed, match="does not exist"):
            await connector.list_files()


async def test_plain_ftp_is_refused_by_a_server_requiring_tls(
    ftps_server: FtpServerInfo, settings: Settings
) -> None:
    with pytest.raises(ConnectionFailed, match="FTP server"):
        async with connector_for(ftps_server.config(tls=False), settings):
            pass


async def test_ftps_kind_turns_tls_on(ftps_server: FtpServerInfo, settings: Settings) -> None:
    ftps_server.put("in/a.csv", b"secure\n")
    async with connector_for(ftps_server.config("/in", kind="FTPS", tls=False), settings) as connector:
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
    settings = Settings(allow_private_hosts=True, connect_timeout=5, max_file_size=1024 * 1024)

    async with connector_for(server.config("/in"), settings) as connector:
        with pytest.raises(TransferFailed, match="larger than the limit"):
            await connector.download("big.bin", io.BytesIO())
        sink = io.BytesIO()
        await connector.download("small.csv", sink)
        assert [f.path for f in await connector.list_files()] == ["big.bin", "small.csv"]
    assert sink.getvalue() == b"ok\n"


async def test_server_going_away_mid_download_fails_the_transfer(
    ftp_server: FtpServerInfo, settings: Settings
) -> None:
    ftp_server.put("in/big.bin", os.urandom(8 * 1024 * 1024))

    class StopServerOnFirstChunk(io.BytesIO):
        def write(self, data: bytes, /) -> int:  # type: ignore[override]
            if not self.tell():
                ftp_server.stop()
            return super().write(data)

    sink = StopServerOnFirstChunk()
    with pytest.raises(TransferFailed):
        async with connector_for(ftp_server.config("/in"), settings) as connector:
            await connector.download("big.bin", sink)
    assert len(sink.getvalue()) < 8 * 1024 * 1024
