"""What every connector does the same way, checked against real FTP, FTPS, SFTP and S3 servers."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from headwater.connectors import connector_for
from headwater.connectors.base import ConnectionConfig
from headwater.errors import ConnectionFailed, RemotePathRefused, TransferFailed
from headwater.settings import Settings

pytestmark = pytest.mark.servers


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


@pytest.fixture
def settings() -> Settings:
    return Settings(allow_private_hosts=True, connect_timeout=5)


async def test_listing_gives_the_files_of_the_working_directory_with_size_and_mtime(
    remote: Remote, settings: Settings
) -> None:
    remote.put("in/sales.csv", b"a,b\n1,2\n")
    remote.put("in/stock.csv", b"x\n")
    remote.put("in/nested/deeper.csv", b"deep\n")
    remote.put("elsewhere.csv", b"not here\n")

    async with connector_for(remote.config("/in"), settings) as connector:
        files = await connector.list_files()

    assert [(f.path, f.size) for f in files] == [("sales.csv", 8), ("stock.csv", 2)]
    for listed in files:
        assert listed.mtime is not None
        assert listed.mtime.tzinfo is not None
        assert abs((datetime.now(UTC) - listed.mtime).total_seconds()) < 24 * 3600


async def test_recursive_listing_includes_nested_directories(remote: Remote, settings: Settings) -> None:
    remote.put("in/top.csv", b"1\n")
    remote.put("in/a/one.csv", b"1\n")
    remote.put("in/a/b/two.csv", b"2\n")

    async with connector_for(remote.config("in", recursive=True), settings) as connector:
        files = await connector.list_files()

    assert [f.path for f in files] == ["a/b/two.csv", "a/one.csv", "top.csv"]


async def test_file_and_exclude_patterns_filter_the_listing(remote: Remote, settings: Settings) -> None:
    for name in ("SALES_1.CSV", "sales_2.csv", "sales_tmp.csv", "readme.txt"):
        remote.put(f"drop/{name}", b"x\n")
    config = remote.config("/drop", file_pattern="sales_*.csv", exclude_pattern="*_tmp.csv")

    async with connector_for(config, settings) as connector:
        files = await connector.list_files()

    assert [f.path for f in files] == ["SALES_1.CSV", "sales_2.csv"]


async def test_whole_root_is_listed_when_the_working_directory_is_the_root(
    remote: Remote, settings: Settings
) -> None:
    remote.put("root.csv", b"1\n")
    remote.put("sub/below.csv", b"2\n")

    async with connector_for(remote.config("/"), settings) as connector:
        files = await connector.list_files()

    assert [f.path for f in files] == ["root.csv"]


async def test_download_streams_the_exact_bytes_of_a_multi_megabyte_file(
    remote: Remote, settings: Settings
) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)
    remote.put("in/big.bin", content)
    sink = io.BytesIO()

    async with connector_for(remote.config("in"), settings) as connector:
        await connector.download("big.bin", sink)

    assert sink.getvalue() == content


async def test_download_of_a_file_that_vanished_after_listing_fails_the_transfer(
    remote: Remote, settings: Settings
) -> None:
    remote.put("in/here.csv", b"1\n")
    async with connector_for(remote.config("in"), settings) as connector:
        await connector.list_files()
        with pytest.raises(TransferFailed, match="no longer exists"):
            await connector.download("gone.csv", io.BytesIO())
        # The connection is still usable afterwards.
        sink = io.BytesIO()
        await connector.download("here.csv", sink)
    assert sink.getvalue() == b"1\n"


async def test_paths_escaping_the_working_directory_are_refused(remote: Remote, settings: Settings) -> None:
    remote.put("secret.csv", b"1\n")
    async with connector_for(remote.config("in"), settings) as connector:
        for path in ("../secret.csv", "/secret.csv", "a/../../secret.csv", "nul\x00.csv"):
            with pytest.raises(RemotePathRefused):
                await connector.download(path, io.BytesIO())


async def test_delete_removes_the_file(remote: Remote, settings: Settings) -> None:
    remote.put("in/done.csv", b"1\n")
    remote.put("in/keep.csv", b"1\n")

    async with connector_for(remote.config("in"), settings) as connector:
        await connector.delete("done.csv")
        files = await connector.list_files()

    assert [f.path for f in files] == ["keep.csv"]
    assert not remote.exists("in/done.csv")


async def test_move_puts_the_file_into_a_relative_archive_directory(
    remote: Remote, settings: Settings
) -> None:
    remote.put("in/done.csv", b"payload\n")

    async with connector_for(remote.config("in"), settings) as connector:
        await connector.move("done.csv", "archive")
        files = await connector.list_files()

    assert files == []
    assert remote.exists("in/archive/done.csv")


async def test_move_into_an_absolute_directory(remote: Remote, settings: Settings) -> None:
    remote.put("in/sub/done.csv", b"payload\n")

    async with connector_for(remote.config("in", recursive=True), settings) as connector:
        await connector.move("sub/done.csv", "/archive/2024")

    assert remote.exists("archive/2024/done.csv")
    assert not remote.exists("in/sub/done.csv")


async def test_unreachable_port_fails_to_connect(remote: Remote, settings: Settings) -> None:
    config = remote.config("in")
    if remote.kind == "s3":
        config = ConnectionConfig(**{**config.__dict__, "endpoint_url": "http://127.0.0.1:9"})
    else:
        config = ConnectionConfig(**{**config.__dict__, "port": 9})

    with pytest.raises(ConnectionFailed) as failure:
        async with connector_for(config, settings) as connector:
            await connector.list_files()

    assert "127.0.0.1" in str(failure.value) or "bucket" in str(failure.value)
