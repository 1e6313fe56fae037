"""The one adapter over fsspec: what every kind of server shares (listing, filtering, paths, errors).

Each protocol module (ftp, sftp, s3) only says how to open and close its filesystem and how to stream
one file. fsspec calls block (the async filesystems run on fsspec's own IO loop behind sync wrappers),
so every call runs in a worker thread, one at a time per connection.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, BinaryIO, Self, TypeVar

import anyio
import anyio.to_thread

from headwater.errors import ConnectionFailed, RemotePathRefused, SourceError, TransferFailed
from headwater.ingest.connectors.base import ConnectionConfig, RemoteFile
from headwater.ingest.connectors.failures import Step, translate
from headwater.ingest.connectors.hosts import HostPolicy, checked_address
from headwater.ingest.connectors.paths import checked_directory, checked_relative, is_selected, join
from headwater.logging import get_logger
from headwater.settings import Settings

log = get_logger(__name__)

T = TypeVar("T")

CHUNK_SIZE = 1024 * 1024


class SizeCappedSink:
    """Writes through to the engine's sink and stops a download that exceeds the size limit."""

    def __init__(self, sink: BinaryIO, limit: int, path: str) -> None:
        self._sink = sink
        self._limit = limit
        self._path = path
        self.written = 0

    def write(self, data: bytes) -> int:
        self.written += len(data)
        if self.written > self._limit:
            raise TransferFailed(f"{self._path} is larger than the limit of {self._limit} bytes")
        self._sink.write(data)
        return len(data)


class FsspecConnector:
    """Base of the FTP, SFTP and S3 connectors. Open with ``async with``."""

    protocol = "remote"
    default_port = 0
    chunk_size = CHUNK_SIZE

    def __init__(
        self, config: ConnectionConfig, settings: Settings, *, hosts: HostPolicy | None = None
    ) -> None:
        self.config = config
        self.settings = settings
        # What may be connected to; tests inject a policy with their own name lookup.
        self.hosts = hosts or HostPolicy.from_settings(settings)
        self._fs: Any = None
        self._lock = anyio.Lock()

    # -- what each protocol provides ------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the source names, else the protocol's own."""
        return self.config.port or self.default_port

    async def _target(self) -> str:
        """The checked address (or name) to connect to: by default the source's host and port, once
        the host policy has allowed the address they resolve to."""
        return await checked_address(self.config.host, self.port, policy=self.hosts)

    def _open(self, address: str) -> Any:
        """Connect and log in; blocking. Returns the fsspec filesystem."""
        raise NotImplementedError

    def _close(self, fs: Any) -> None:
        """Close the connection; blocking."""
        raise NotImplementedError

    def _root(self) -> str:
        """The working directory as the filesystem spells paths."""
        raise NotImplementedError

    def _stream(self, fs: Any, full_path: str, sink: SizeCappedSink) -> None:
        """Copy one remote file into ``sink`` chunk by chunk; blocking."""
        with fs.open(full_path, "rb") as remote:
            while chunk := remote.read(self.chunk_size):
                sink.write(chunk)

    def _find_options(self) -> dict[str, Any]:
        # A missing working directory is an error, not an empty listing.
        return {"on_error": "raise"}

    def _absolute(self, directory: str) -> str:
        """An absolute archive directory as the filesystem spells it."""
        return directory

    def _make_directory(self, fs: Any, directory: str) -> None:
        fs.makedirs(directory, exist_ok=True)

    def _mtime(self, info: dict[str, Any]) -> datetime | None:
        value = info.get("mtime") or info.get("LastModified")
        return _as_utc(value) if isinstance(value, datetime) else None

    def _identity(self, info: dict[str, Any]) -> str | None:
        return None

    # -- the Connector protocol ------------------------------------------------------------------

    @property
    def where(self) -> str:
        return f"{self.protocol} server {self.config.host}:{self.port}"

    @property
    def host_key(self) -> str | None:
        return None

    @property
    def _secrets(self) -> tuple[str | None, ...]:
        return (self.config.password, self.config.private_key, self.config.passphrase)

    async def __aenter__(self) -> Self:
        target = await self._target()
        try:
            self._fs = await anyio.to_thread.run_sync(self._open, target)
        except Exception as exc:
            raise self._failure(exc, "connect") from exc
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        fs, self._fs = self._fs, None
        if fs is None:
            return
        try:
            async with self._lock:
                await anyio.to_thread.run_sync(self._close, fs)
        except Exception as exc:  # the work is done; a failing goodbye is not worth failing the run for
            log.debug("closing the connection failed", server=self.where, error=type(exc).__name__)

    async def list_files(self) -> list[RemoteFile]:
        root = self._root()
        found: dict[str, dict[str, Any]] = await self._call(
            "list",
            lambda fs: fs.find(
                root,
                maxdepth=None if self.config.recursive else 1,
                withdirs=False,
                detail=True,
                **self._find_options(),
            ),
        )
        prefix = root.rstrip("/") + "/" if root else ""
        files: list[RemoteFile] = []
        for name, info in found.items():
            if info.get("type", "file") != "file":
                continue
            name = str(info.get("name") or name)
            try:
                if not name.startswith(prefix):
                    raise RemotePathRefused(
                        f"remote path {name!r} refused: it is outside the working directory"
                    )
                relative = checked_relative(name[len(prefix) :])
            except RemotePathRefused as refused:
                log.warning("skipping a listed file", server=self.where, reason=refused.message)
                continue
            if not is_selected(relative, self.config):
                continue
            files.append(
                RemoteFile(
                    path=relative,
                    size=int(info.get("size") or 0),
                    mtime=self._mtime(info),
                    identity=self._identity(info),
                )
            )
        files.sort(key=lambda remote: remote.path)
        return files

    async def download(self, path: str, sink: BinaryIO) -> None:
        full = join(self._root(), checked_relative(path))
        capped = SizeCappedSink(sink, self.settings.max_file_size, path)
        await self._call("transfer", lambda fs: self._stream(fs, full, capped))

    async def delete(self, path: str) -> None:
        full = join(self._root(), checked_relative(path))
        await self._call("delete", lambda fs: fs.rm_file(full))

    async def move(self, path: str, directory: str) -> None:
        relative = checked_relative(path)
        full = join(self._root(), relative)
        target = checked_directory(directory)
        target = self._absolute(target) if target.startswith("/") else join(self._root(), target)
        name = relative.rsplit("/", 1)[-1]

        def _move(fs: Any) -> None:
            self._make_directory(fs, target)
            fs.mv(full, join(target, name))

        await self._call("move", _move)

    # -- plumbing ------------------------------------------------------------------------------

    async def _call(self, step: Step, work: Callable[[Any], T]) -> T:
        fs = self._fs
        if fs is None:
            raise ConnectionFailed(f"not connected to {self.where}")
        async with self._lock:
            try:
                # A listing a caller gives up on (a connection test past its deadline) is left to finish
                # in its thread; a transfer is always waited for, so that its sink is not written to later.
                return await anyio.to_thread.run_sync(work, fs, abandon_on_cancel=step == "list")
            except Exception as exc:
                raise self._failure(exc, step) from exc

    def _failure(self, exc: Exception, step: Step) -> SourceError:
        return translate(exc, step=step, where=self.where, secrets=self._secrets)


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
