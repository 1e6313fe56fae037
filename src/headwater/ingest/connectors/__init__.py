"""Connectors: list and fetch the files of a source's server (FTP, FTPS, SFTP, S3)."""

from __future__ import annotations

from dataclasses import replace

from headwater.errors import ConnectionFailed
from headwater.ingest.connectors.base import ConnectionConfig, Connector
from headwater.settings import Settings


def connector_for(config: ConnectionConfig, settings: Settings) -> Connector:
    """The connector for ``config.kind`` (FTP, FTPS, SFTP or S3), not yet connected: use ``async with``.

    The protocol libraries are imported here, on first use, to keep start-up light.
    """
    kind = str(config.kind).strip().upper()
    if kind in ("FTP", "FTPS"):
        from headwater.ingest.connectors.ftp import FtpConnector

        return FtpConnector(replace(config, tls=True) if kind == "FTPS" else config, settings)
    if kind == "SFTP":
        from headwater.ingest.connectors.sftp import SftpConnector

        return SftpConnector(config, settings)
    if kind == "S3":
        from headwater.ingest.connectors.s3 import S3Connector

        return S3Connector(config, settings)
    raise ConnectionFailed(f"unsupported data source type {config.kind!r}")


__all__ = ["connector_for"]
