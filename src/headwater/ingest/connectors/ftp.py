"""FTP and explicit FTPS (AUTH TLS, data channel protected with PROT P) over fsspec's FTPFileSystem."""

from __future__ import annotations

import contextlib
import ftplib
import posixpath
from datetime import UTC, datetime
from typing import Any

from fsspec.implementations.ftp import FTPFileSystem

from headwater.ingest.connectors.fsspec_connector import FsspecConnector, SizeCappedSink

_BLOCK_SIZE = 256 * 1024


class FtpConnector(FsspecConnector):
    default_port = 21
    _resolved_root = "/"

    @property
    def protocol(self) -> str:  # type: ignore[override]
        return "FTPS" if self.config.tls else "FTP"

    def _open(self, address: str) -> Any:
        # tls=True is explicit FTPS: AUTH TLS before login, then PROT P for the data channel.
        # ftplib ignores the address in PASV replies and reuses the control connection's peer, so a
        # server cannot point the data connection elsewhere.
        fs = FTPFileSystem(
            address,
            port=self.port,
            username=self.config.user,
            password=self.config.password,
            timeout=self.settings.connect_timeout,
            tls=bool(self.config.tls),
            block_size=_BLOCK_SIZE,
            skip_instance_cache=True,
        )
        working = self.config.working_directory.strip() or "."
        # A relative working directory is relative to the login directory, as in any FTP client.
        self._resolved_root = posixpath.normpath(posixpath.join(fs.ftp.pwd(), working))
        return fs

    def _close(self, fs: Any) -> None:
        try:
            fs.ftp.quit()
        finally:
            fs.ftp.close()

    def _root(self) -> str:
        return self._resolved_root

    def _stream(self, fs: Any, full_path: str, sink: SizeCappedSink) -> None:
        # One RETR for the whole file; fsspec's file object would re-issue RETR with REST per block.
        try:
            fs.ftp.retrbinary(f"RETR {full_path}", callback=sink.write, blocksize=_BLOCK_SIZE)
        except ftplib.Error:
            raise  # the server's refusal was the answer: nothing is pending
        except Exception:
            # The transfer broke off (or the sink refused more): read the server's answer to it so
            # the control connection stays in step for the next command.
            with contextlib.suppress(Exception):
                fs.ftp.voidresp()
            raise

    def _mtime(self, info: dict[str, Any]) -> datetime | None:
        modify = str(info.get("modify") or "")
        try:
            return datetime.strptime(modify[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            return None
