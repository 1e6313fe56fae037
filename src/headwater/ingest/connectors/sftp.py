"""SFTP over sshfs/asyncssh: password or private key (with optional passphrase), host key pinned on first use."""

from __future__ import annotations

import contextlib
from typing import Any

import asyncssh
from fsspec.asyn import sync
from sshfs import SSHFileSystem

from headwater.errors import HostKeyChanged, SourceAuthenticationFailed
from headwater.ingest.connectors.fsspec_connector import FsspecConnector


def openssh_public_key(key: asyncssh.SSHKey) -> str:
    """``ssh-ed25519 AAAA...``: the key's algorithm and data, without a comment."""
    algorithm, data = key.export_public_key("openssh").decode().split()[:2]
    return f"{algorithm} {data}"


class SftpConnector(FsspecConnector):
    protocol = "SFTP"
    default_port = 22
    # asyncssh splits each read into parallel requests: a larger read keeps more data in flight per
    # round trip, which is what throughput over a distant link depends on.
    chunk_size = 8 * 1024 * 1024
    _host_key: str | None = None

    @property
    def host_key(self) -> str | None:
        return self._host_key

    def _open(self, address: str) -> Any:
        options: dict[str, Any] = {
            "port": self.port,
            "known_hosts": self._known_hosts(),
            "client_keys": self._client_keys(),
            # Only what the source says: no agent, no ~/.ssh/config, no keys of the account headwater runs as.
            "agent_path": None,
            "config": None,
            "connect_timeout": self.settings.connect_timeout,
            "login_timeout": self.settings.connect_timeout,
            # AES-GCM first (hardware-accelerated: about twice chacha20's throughput here), then the defaults.
            "encryption_algs": "^aes128-gcm@openssh.com,aes256-gcm@openssh.com",
        }
        if self.config.user is not None:
            options["username"] = self.config.user
        if self.config.password:
            options["password"] = self.config.password
        try:
            fs = SSHFileSystem(address, skip_instance_cache=True, **options)
        except asyncssh.HostKeyNotVerifiable as exc:
            raise self._host_key_changed() from exc
        except asyncssh.KeyExchangeFailed as exc:
            if self.config.pinned_host_key:
                # The server no longer offers a key of the pinned type.
                raise self._host_key_changed() from exc
            raise
        self._host_key = openssh_public_key(fs.client.get_server_host_key())
        return fs

    def _close(self, fs: Any) -> None:
        async def shutdown() -> None:
            # What sshfs's own finalizer does, now rather than whenever the object is collected.
            with contextlib.suppress(Exception):
                await fs._pool.close()
            await fs._stack.aclose()

        sync(fs.loop, shutdown, timeout=self.settings.connect_timeout)

    def _root(self) -> str:
        working = self.config.working_directory.strip()
        if not working:
            return "."
        return working.rstrip("/") or "/"

    def _known_hosts(
        self,
    ) -> tuple[list[asyncssh.SSHKey], list[asyncssh.SSHKey], list[asyncssh.SSHKey]] | None:
        pinned = self.config.pinned_host_key
        if not pinned:
            return None  # first connection: accept the key, the engine pins what host_key reports
        try:
            key = asyncssh.import_public_key(pinned.strip())
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise HostKeyChanged(
                f"the host key pinned for {self.where} cannot be read; an operator must reset the pin"
            ) from exc
        return ([key], [], [])

    def _client_keys(self) -> list[asyncssh.SSHKey] | None:
        if not self.config.private_key:
            return None
        try:
            return [
                asyncssh.import_private_key(
                    self.config.private_key.strip() + "\n", self.config.passphrase or None
                )
            ]
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise SourceAuthenticationFailed(
                f"cannot connect to {self.where}: the private key cannot be read (wrong passphrase?)"
            ) from exc

    def _host_key_changed(self) -> HostKeyChanged:
        return HostKeyChanged(
            f"the host key of {self.where} changed: the server presented a key other than the pinned one; "
            "if the change is expected, an operator must reset the pin"
        )
