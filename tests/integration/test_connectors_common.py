"""What the connectors do the same way, checked against real FTP, FTPS, SFTP and S3 servers (and, last,
what only the FTP, FTPS and SFTP connectors share)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from headwater.errors import ConnectionFailed, RemotePathRefused, SourceAuthenticationFailed, TransferFailed
from headwater.ingest.connectors import connector_for
from headwater.ingest.connectors.base import ConnectionConfig
from headwater.settings import Settings
from tests.servers import FtpServerInfo, SftpServerInfo

pytestmark = pytest.mark.servers

FileServer = FtpServerInfo | SftpServerInfo


@dataclass
class Remote:
    """A server under test: ``put`` places a file at a path below the server's root."""

    kind: str
    put: Callable[[str, bytes], Any]
    config: Callable[..., ConnectionConfig]
    exists: Callable[[str], bool]


@pytest.fixture(params=["ftp", "ftps", "sftp", "s3"])
def remote(request: pytest.FixtureRequest) -> Remote:
    if request.param == "s3":
        s3 = request.getfixturevalue("s3_server")
        return Remote("s3", s3.put, s3.config, lambda key: key in s3.keys())
    server = request.getfixturevalue(f"{request.param}_server")
    return Remote(request.param, server.put, server.config, lambda path: (server.root / path).is_file())


async def test_listing_gives_the_files_of_the_working_directory_with_size_and_mtime(
    remote: Remote, connector_settings: Settings
) -> None:
    remote.put("in/sales.csv", b"a,b\n1,2\n")
    remote.put("in/stock.csv", b"x\n")
    remote.put("in/nested/deeper.csv", b"deep\n")
    remote.put("elsewhere.csv", b"not here\n")

    async with connector_for(remote.config("/in"), connector_settings) as connector:
        files = await connector.list_files()

    assert [(f.path, f.size) for f in files] == [("sales.csv", 8), ("stock.csv", 2)]
    for listed in files:
        assert listed.mtime is not None
        assert listed.mtime.tzinfo is not None
        assert abs((datetime.now(UTC) - listed.mtime).total_seconds()) < 24 * 3600


async def test_recursive_listing_includes_nested_directories(
    remote: Remote, connector_settings: Settings
) -> None:
    remote.put("in/top.csv", b"1\n")
    remote.put("in/a/one.csv", b"1\n")
    remote.put("in/a/b/two.csv", b"2\n")

    async with connector_for(remote.config("in", recursive=True), connector_settings) as connector:
        files = await connector.list_files()

    assert [f.path for f in files] == ["a/b/two.csv", "a/one.csv", "top.csv"]


async def test_file_and_exclude_patterns_filter_the_listing(
    remote: Remote, connector_settings: Settings
) -> None:
    for name in ("SALES_1.CSV", "sales_2.csv", "sales_tmp.csv", "readme.txt"):
        remote.put(f"drop/{name}", b"x\n")
    config = remote.config("/drop", file_pattern="sales_*.csv", exclude_pattern="*_tmp.csv")

    async with connector_for(config, connector_settings) as connector:
        files = await connector.list_files()

    assert [f.path for f in files] == ["SALES_1.CSV", "sales_2.csv"]


async def test_whole_root_is_listed_when_the_working_directory_is_the_root(
    remote: Remote, connector_settings: Settings
) -> None:
    remote.put("root.csv", b"1\n")
    remote.put("sub/below.csv", b"2\n")

    async with connector_for(remote.config("/"), connector_settings) as connector:
        files = await connector.list_files()

    assert [f.path for f in files] == ["root.csv"]


async def test_download_streams_the_exact_bytes_of_a_multi_megabyte_file(
    remote: Remote, connector_settings: Settings
) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)
    remote.put("in/big.bin", content)
    sink = io.BytesIO()

    async with connector_for(remote.config("in"), connector_settings) as connector:
        await connector.download("big.bin", sink)

    assert sink.getvalue() == content


async def test_download_of_a_file_that_vanished_after_listing_fails_the_transfer(
    remote: Remote, connector_settings: Settings
) -> None:
    remote.put("in/here.csv", b"1\n")
    async with connector_for(remote.config("in"), connector_settings) as connector:
        await connector.list_files()
        with pytest.raises(TransferFailed, match="no longer exists"):
            await connector.download("gone.csv", io.BytesIO())
        # The connection is still usable afterwards.
        sink = io.BytesIO()
        await connector.download("here.csv", sink)
    assert sink.getvalue() == b"1\n"


async def test_paths_escaping_the_working_directory_are_refused(
    remote: Remote, connector_settings: Settings
) -> None:
    remote.put("secret.csv", b"1\n")
    async with connector_for(remote.config("in"), connector_settings) as connector:
        for path in ("../secret.csv", "/secret.csv", "a/../../secret.csv", "nul\x00.csv"):
            with pytest.raises(RemotePathRefused):
                await connector.download(path, io.BytesIO())


async def test_delete_removes_the_file(remote: Remote, connector_settings: Settings) -> None:
    remote.put("in/done.csv", b"1\n")
    remote.put("in/keep.csv", b"1\n")

    async with connector_for(remote.config("in"), connector_settings) as connector:
        await connector.delete("done.csv")
        files = await connector.list_files()

    assert [f.path for f in files] == ["keep.csv"]
    assert not remote.exists("in/done.csv")


async def test_move_puts_the_file_into_a_relative_archive_directory(
    remote: Remote, connector_settings: Settings
) -> None:
    remote.put("in/done.csv", b"payload\n")

    async with connector_for(remote.config("in"), connector_settings) as connector:
        await connector.move("done.csv", "archive")
        files = await connector.list_files()

    assert files == []
    assert remote.exists("in/archive/done.csv")


async def test_move_into_an_absolute_directory(remote: Remote, connector_settings: Settings) -> None:
    remote.put("in/sub/done.csv", b"payload\n")

    async with connector_for(remote.config("in", recursive=True), connector_settings) as connector:
        await connector.move("sub/done.csv", "/archive/2024")

    assert remote.exists("archive/2024/done.csv")
    assert not remote.exists("in/sub/done.csv")


async def test_unreachable_port_fails_to_connect(remote: Remote, connector_settings: Settings) -> None:
    config = remote.config("in")
    if remote.kind == "s3":
        config = ConnectionConfig(**{**config.__dict__, "endpoint_url": "http://127.0.0.1:9"})
    else:
        config = ConnectionConfig(**{**config.__dict__, "port": 9})

    with pytest.raises(ConnectionFailed) as failure:
        async with connector_for(config, connector_settings) as connector:
            await connector.list_files()

    assert "127.0.0.1" in str(failure.value) or "bucket" in str(failure.value)


# -- what the FTP, FTPS and SFTP connectors do the same way -----------------------------------------


@pytest.mark.parametrize("server_fixture", ["ftp_server", "ftps_server", "sftp_server"])
async def test_wrong_password_is_an_authentication_failure_that_does_not_reveal_it(
    server_fixture: str, request: pytest.FixtureRequest, connector_settings: Settings
) -> None:
    server: FileServer = request.getfixturevalue(server_fixture)
    wrong = "Wrong-Pa55word-xyz"
    with pytest.raises(SourceAuthenticationFailed) as failure:
        async with connector_for(server.config(password=wrong), connector_settings):
            pass
    for text in (str(failure.value), repr(failure.value), str(failure.value.__cause__)):
        assert wrong not in text
        assert server.password not in text


@pytest.mark.parametrize("server_fixture", ["ftp_server", "sftp_server"])
async def test_listing_reports_the_server_mtime_in_utc(
    server_fixture: str, request: pytest.FixtureRequest, connector_settings: Settings
) -> None:
    server: FileServer = request.getfixturevalue(server_fixture)
    stamp = datetime(2024, 3, 1, 12, 30, 15, tzinfo=UTC)
    server.put("in/dated.csv", b"1\n", mtime=stamp)

    async with connector_for(server.config("/in"), connector_settings) as connector:
        (listed,) = await connector.list_files()

    assert listed.mtime == stamp
    assert listed.identity is None


@pytest.mark.parametrize("server_fixture", ["ftp_server", "sftp_server"])
async def test_missing_working_directory_fails_the_connection(
    server_fixture: str, request: pytest.FixtureRequest, connector_settings: Settings
) -> None:
    server: FileServer = request.getfixturevalue(server_fixture)
    async with connector_for(server.config("/nowhere"), connector_settings) as connector:
        with pytest.raises(ConnectionFailed, match="does not exist"):
            await connector.list_files()


@pytest.mark.parametrize(
    ("server_fixture", "size"), [("ftp_server", 8 * 1024 * 1024), ("sftp_server", 16 * 1024 * 1024)]
)
async def test_server_going_away_mid_download_fails_the_transfer(
    server_fixture: str, size: int, request: pytest.FixtureRequest, connector_settings: Settings
) -> None:
    server: FileServer = request.getfixturevalue(server_fixture)
    server.put("in/big.bin", os.urandom(size))

    class StopServerOnFirstChunk(io.BytesIO):
        def write(self, data: bytes, /) -> int:  # type: ignore[override]
            if not self.tell():
                server.stop()
            return super().write(data)

    sink = StopServerOnFirstChunk()
    with pytest.raises(TransferFailed):
        async with connector_for(server.config("/in"), connector_settings) as connector:
            await connector.download("big.bin", sink)
    assert len(sink.getvalue()) < size
