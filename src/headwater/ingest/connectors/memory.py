"""An in-memory server and connector with the real connectors' behaviour, for tests of the import engine.

``MemoryServer`` is the remote side and outlives connections, like a real server; its ``connector_for``
has the signature of ``headwater.ingest.connectors.connector_for`` and can be passed wherever that is. Hooks
make the next connection fail, drop a download after some bytes, or present another host key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Self

import anyio

from headwater.clock import utcnow
from headwater.errors import HostKeyChanged, SourceError, TransferFailed
from headwater.ingest.connectors.base import ConnectionConfig, RemoteFile
from headwater.ingest.connectors.paths import checked_directory, checked_relative, is_selected
from headwater.settings import Settings

CHUNK_SIZE = 64 * 1024


@dataclass
class MemoryFile:
    data: bytes
    mtime: datetime
    identity: str | None = None


@dataclass
class _Drop:
    after_bytes: int
    times: int


@dataclass
class MemoryServer:
    """Files by full path below the server's root (``in/sales.csv``), with failure hooks."""

    files: dict[str, MemoryFile] = field(default_factory=dict)
    host_key: str | None = None
    # Raised by the next connections (each use decrements ``connect_failures_left``; None: forever).
    connect_error: SourceError | None = None
    connect_failures_left: int | None = None
    connections: int = 0
    open_connections: int = 0
    downloads: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)
    _drops: dict[str, _Drop] = field(default_factory=dict)

    def put(self, path: str, data: bytes, mtime: datetime | None = None, identity: str | None = None) -> None:
        self.files[path.strip("/")] = MemoryFile(data, mtime or utcnow(), identity)

    def fail_connections(self, error: SourceError, times: int | None = None) -> None:
        """Make the next ``times`` connections (all, when None) fail with ``error``."""
        self.connect_error = error
        self.connect_failures_left = times

    def drop_download(self, path: str, after_bytes: int, times: int = 1) -> None:
        """The next ``times`` downloads of ``path`` (full path) break off after ``after_bytes`` bytes."""
        self._drops[path.strip("/")] = _Drop(after_bytes, times)

    def connector_for(self, config: ConnectionConfig, settings: Settings) -> MemoryConnector:
        return MemoryConnector(self, config, settings)

    def _take_drop(self, path: str) -> int | None:
        drop = self._drops.get(path)
        if drop is None:
            return None
        drop.times -= 1
        if drop.times <= 0:
            del self._drops[path]
        return drop.after_bytes

    def _take_connect_error(self) -> SourceError | None:
        if self.connect_error is None:
            return None
        error = self.connect_error
        if self.connect_failures_left is not None:
            self.connect_failures_left -= 1
            if self.connect_failures_left <= 0:
                self.connect_error = None
                self.connect_failures_left = None
        return error


class MemoryConnector:
    """Implements the Connector protocol over a MemoryServer."""

    def __init__(self, server: MemoryServer, config: ConnectionConfig, settings: Settings) -> None:
        self.server = server
        self.config = config
        self.settings = settings
        self._connected = False

    @property
    def host_key(self) -> str | None:
        return self.server.host_key if self._connected else None

    @property
    def _root(self) -> str:
        return self.config.working_directory.strip().strip("/")

    async def __aenter__(self) -> Self:
        await anyio.sleep(0)
        error = self.server._take_connect_error()
        if error is not None:
            raise error
        pinned = self.config.pinned_host_key
        if pinned and self.server.host_key and pinned != self.server.host_key:
            raise HostKeyChanged("the host key of the memory server changed")
        self._connected = True
        self.server.connections += 1
        self.server.open_connections += 1
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._connected:
            self._connected = False
            self.server.open_connections -= 1

    async def list_files(self) -> list[RemoteFile]:
        await anyio.sleep(0)
        prefix = f"{self._root}/" if self._root else ""
        listed: list[RemoteFile] = []
        for full, file in sorted(self.server.files.items()):
            if not full.startswith(prefix):
                continue
            relative = full[len(prefix) :]
            if is_selected(relative, self.config):
                listed.append(RemoteFile(relative, len(file.data), file.mtime, file.identity))
        return listed

    async def download(self, path: str, sink: BinaryIO) -> None:
        full = self._full(path)
        file = self.server.files.get(full)
        if file is None:
            raise TransferFailed(f"cannot download {path}: the file no longer exists on the server")
        self.server.downloads.append(full)
        drop_after = self.server._take_drop(full)
        data = file.data if drop_after is None else file.data[:drop_after]
        for start in range(0, len(data), CHUNK_SIZE):
            sink.write(data[start : start + CHUNK_SIZE])
            await anyio.sleep(0)
        if drop_after is not None:
            raise TransferFailed(f"cannot download {path}: the connection was closed by the server")

    async def delete(self, path: str) -> None:
        full = self._full(path)
        if self.server.files.pop(full, None) is None:
            raise TransferFailed(f"cannot delete {path}: the file no longer exists on the server")
        self.server.deleted.append(full)

    async def move(self, path: str, directory: str) -> None:
        full = self._full(path)
        target = checked_directory(directory)
        base = target.strip("/") if target.startswith("/") else "/".join(p for p in (self._root, target) if p)
        destination = f"{base}/{full.rsplit('/', 1)[-1]}"
        file = self.server.files.pop(full, None)
        if file is None:
            raise TransferFailed(f"cannot move {path}: the file no longer exists on the server")
        self.server.files[destination] = file
        self.server.moved.append((full, destination))

    def _full(self, path: str) -> str:
        if not self._connected:
            raise TransferFailed("not connected")
        relative = checked_relative(path)
        return f"{self._root}/{relative}" if self._root else relative
