"""S3 and S3-compatible stores over s3fs: ``host`` is the bucket, the working directory a key prefix."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from fsspec.asyn import sync
from s3fs import S3FileSystem

from headwater.errors import ConnectionFailed
from headwater.ingest.connectors.fsspec_connector import FsspecConnector, SizeCappedSink
from headwater.ingest.connectors.guarded_aiohttp import aiohttp_connector_args
from headwater.ingest.connectors.hosts import HostGuard

_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$")
_CHUNK_SIZE = 8 * 1024 * 1024


class S3Connector(FsspecConnector):
    protocol = "S3"
    _client: Any = None
    _guard: HostGuard | None = None

    @property
    def where(self) -> str:
        at = f" at {self.config.endpoint_url}" if self.config.endpoint_url else ""
        return f"S3 bucket {self.config.host}{at}"

    @property
    def _secrets(self) -> tuple[str | None, ...]:
        return (self.config.password,)

    @property
    def bucket(self) -> str:
        return self.config.host.strip()

    async def _target(self) -> str:
        if not _BUCKET.match(self.bucket):
            raise ConnectionFailed(f"{self.bucket!r} is not a valid bucket name")
        if self.config.endpoint_url:
            endpoint = urlsplit(self.config.endpoint_url)
            if endpoint.scheme not in ("http", "https") or not endpoint.hostname:
                raise ConnectionFailed(f"endpoint URL {self.config.endpoint_url!r} is not an http(s) URL")
            host = endpoint.hostname
            port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
        else:
            # The bucket is not a host: on AWS the endpoint is what gets connected to.
            host, port = f"s3.{self.config.region or 'us-east-1'}.amazonaws.com", 443
        if not self.hosts.allow_private:
            # The S3 client resolves through this guard, for the endpoint and for any host a redirect
            # points at: it connects to the addresses checked here, never to a second DNS answer.
            self._guard = HostGuard(self.hosts)
            await self._guard.addresses(host, port)
        return host

    def _open(self, address: str) -> Any:
        options: dict[str, Any] = {
            "connect_timeout": self.settings.connect_timeout,
            "read_timeout": self.settings.connect_timeout,
            "retries": {"max_attempts": 2, "mode": "standard"},
        }
        if self.config.endpoint_url:
            # The endpoint's own name, not <bucket>.<endpoint>: the host that was checked is the one
            # connected to, and S3-compatible stores (MinIO, Ceph) answer it without wildcard DNS.
            options["s3"] = {"addressing_style": "path"}
        if self._guard is not None:
            options["connector_args"] = aiohttp_connector_args(self._guard)
        fs = S3FileSystem(
            key=self.config.user or None,
            secret=self.config.password or None,
            # Without credentials: anonymous, never the credentials of the machine headwater runs on.
            anon=not self.config.user,
            endpoint_url=self.config.endpoint_url or None,
            client_kwargs={"region_name": self.config.region} if self.config.region else {},
            config_kwargs=options,
            use_listings_cache=False,
            skip_instance_cache=True,
        )
        fs.retries = 2  # s3fs's own retry loop, on top of botocore's
        self._client = fs.connect()
        try:
            # Checks the credentials and that the bucket exists, in one cheap request.
            fs.call_s3("head_bucket", Bucket=self.bucket)
        except Exception:
            self._close(fs)
            raise
        return fs

    def _close(self, fs: Any) -> None:
        if self._client is not None:
            sync(fs.loop, self._client.close, timeout=self.settings.connect_timeout)

    def _root(self) -> str:
        prefix = self.config.working_directory.strip().strip("/")
        return f"{self.bucket}/{prefix}" if prefix else self.bucket

    def _find_options(self) -> dict[str, Any]:
        return {}  # a prefix nothing was uploaded under yet is simply empty

    def _absolute(self, directory: str) -> str:
        return f"{self.bucket}/{directory.strip('/')}"

    def _make_directory(self, fs: Any, directory: str) -> None:
        return None  # key prefixes need no creating

    def _stream(self, fs: Any, full_path: str, sink: SizeCappedSink) -> None:
        # No read-ahead cache: each read is one ranged GET of exactly the chunk.
        with fs.open(full_path, "rb", block_size=_CHUNK_SIZE, cache_type="none") as remote:
            while chunk := remote.read(_CHUNK_SIZE):
                sink.write(chunk)

    def _identity(self, info: dict[str, Any]) -> str | None:
        etag = info.get("ETag")
        return str(etag).strip('"') if etag else None
