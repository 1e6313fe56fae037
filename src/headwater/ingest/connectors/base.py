"""The connector port: one small interface that the import engine uses for every kind of server."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class RemoteFile:
    """A file in a source's working directory.

    ``path`` is relative to the working directory, ``/``-separated, checked to stay inside it.
    ``identity`` is what the server says about the content when it says anything (an S3 ETag).
    """

    path: str
    size: int
    mtime: datetime | None
    identity: str | None = None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ConnectionConfig:
    """What a connector needs to reach a server. Secrets are in clear text here: never log this object."""

    kind: str  # FTP, SFTP or S3
    host: str
    working_directory: str
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    passphrase: str | None = field(default=None, repr=False)
    tls: bool = False
    region: str | None = None
    endpoint_url: str | None = None
    file_pattern: str = "*"
    exclude_pattern: str | None = None
    recursive: bool = False
    # The SFTP host key pinned on first use (OpenSSH public key text); None: not pinned yet.
    pinned_host_key: str | None = None


class Connector(Protocol):
    """Opened with ``async with``; every method raises ``headwater.errors.SourceError`` subclasses."""

    async def __aenter__(self) -> Connector: ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    @property
    def host_key(self) -> str | None:
        """The server's host key seen on connecting (SFTP), to pin when nothing is pinned yet."""
        ...

    async def list_files(self) -> list[RemoteFile]:
        """The files to consider, after filePattern / excludePattern / recursive are applied."""
        ...

    async def download(self, path: str, sink: BinaryIO) -> None:
        """Stream one file into ``sink`` in chunks; memory stays flat whatever the size."""
        ...

    async def delete(self, path: str) -> None: ...

    async def move(self, path: str, directory: str) -> None:
        """Move a file into ``directory`` (relative to the working directory, or absolute)."""
        ...
