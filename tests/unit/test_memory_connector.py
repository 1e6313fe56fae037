"""The in-memory connector behaves like the real ones, and its hooks inject the failures engine tests need."""

from __future__ import annotations

import io

import pytest

from headwater.errors import ConnectionFailed, HostKeyChanged, RemotePathRefused, TransferFailed
from headwater.ingest.connectors.base import ConnectionConfig
from headwater.ingest.connectors.memory import MemoryServer
from headwater.settings import Settings

SETTINGS = Settings(allow_private_hosts=True)


def _config(**options: object) -> ConnectionConfig:
    values: dict[str, object] = {"kind": "SFTP", "host": "memory", "working_directory": "/in"}
    values.update(options)
    return ConnectionConfig(**values)  # type: ignore[arg-type]


async def test_lists_filters_and_downloads_like_a_real_server() -> None:
    server = MemoryServer()
    server.put("in/a.csv", b"1\n")
    server.put("in/b.txt", b"2\n")
    server.put("in/sub/c.csv", b"3\n")
    server.put("other/d.csv", b"4\n")

    async with server.connector_for(_config(file_pattern="*.csv"), SETTINGS) as connector:
        files = await connector.list_files()
        sink = io.BytesIO()
        await connector.download("a.csv", sink)
        with pytest.raises(RemotePathRefused):
            await connector.download("../other/d.csv", io.BytesIO())

    assert [(f.path, f.size) for f in files] == [("a.csv", 2)]
    assert sink.getvalue() == b"1\n"
    assert server.open_connections == 0


async def test_a_dropped_download_writes_part_of_the_file_then_fails_once() -> None:
    server = MemoryServer()
    server.put("in/big.csv", b"x" * 200_000)
    server.drop_download("in/big.csv", after_bytes=100_000)

    async with server.connector_for(_config(), SETTINGS) as connector:
        partial = io.BytesIO()
        with pytest.raises(TransferFailed, match="connection was closed"):
            await connector.download("big.csv", partial)
        whole = io.BytesIO()
        await connector.download("big.csv", whole)

    assert len(partial.getvalue()) == 100_000
    assert len(whole.getvalue()) == 200_000


async def test_connection_failures_can_be_injected_for_a_number_of_connections() -> None:
    server = MemoryServer()
    server.fail_connections(ConnectionFailed("unreachable"), times=1)
    with pytest.raises(ConnectionFailed):
        async with server.connector_for(_config(), SETTINGS):
            pass
    async with server.connector_for(_config(), SETTINGS):
        pass
    assert server.connections == 1


async def test_host_key_is_reported_and_a_changed_one_is_refused() -> None:
    server = MemoryServer(host_key="ssh-ed25519 AAAAfirst")
    async with server.connector_for(_config(), SETTINGS) as connector:
        assert connector.host_key == "ssh-ed25519 AAAAfirst"
    server.host_key = "ssh-ed25519 AAAAsecond"
    with pytest.raises(HostKeyChanged):
        async with server.connector_for(_config(pinned_host_key="ssh-ed25519 AAAAfirst"), SETTINGS):
            pass


async def test_delete_and_move_change_the_server() -> None:
    server = MemoryServer()
    server.put("in/a.csv", b"1")
    server.put("in/b.csv", b"2")
    server.put("in/c.csv", b"3")
    async with server.connector_for(_config(), SETTINGS) as connector:
        await connector.delete("a.csv")
        await connector.move("b.csv", "archive")
        await connector.move("c.csv", "/done")
        with pytest.raises(TransferFailed):
            await connector.delete("a.csv")
    assert sorted(server.files) == ["done/c.csv", "in/archive/b.csv"]
