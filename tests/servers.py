"""Real FTP, FTPS, SFTP and S3 servers on 127.0.0.1, started by fixtures for the tests that need them.

Each fixture yields a small description of its server (host, port, credentials, root) with ``put`` to
place a file and ``config`` to build the ConnectionConfig a connector needs. FTP, FTPS and SFTP servers
are started per test on a fresh directory; the S3 server (moto) starts once per test run and each test
gets its own bucket.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import os
import threading
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from headwater.ingest.connectors.base import ConnectionConfig
from headwater.settings import Settings

with warnings.catch_warnings():
    # pyftpdlib still builds on asynchat/asyncore on Python 3.11, which warn when imported.
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
    from pyftpdlib.servers import FTPServer

LOOPBACK = "127.0.0.1"
USER = "partner"
PASSWORD = "Ftp-s3cret-Pa55word"
KEY_PASSPHRASE = "key-passphrase-Secret"

logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
logging.getLogger("werkzeug").setLevel(logging.WARNING)


def _place(root: Path, relative: str, data: bytes, mtime: dt.datetime | None) -> Path:
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    if mtime is not None:
        stamp = mtime.timestamp()
        os.utime(target, (stamp, stamp))
    return target


def _login_config(
    kind: str, server: FtpServerInfo | SftpServerInfo, working_directory: str, overrides: dict[str, Any]
) -> ConnectionConfig:
    """The ConnectionConfig of a server that takes the test user's name and password."""
    base = ConnectionConfig(
        kind=kind,
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        working_directory=working_directory,
    )
    return replace(base, **overrides)


@pytest.fixture
def connector_settings() -> Settings:
    """Settings under which connectors reach these loopback servers, and give up on them quickly."""
    return Settings(allow_private_hosts=True, connect_timeout=5)


# -- FTP and FTPS ---------------------------------------------------------------------------------


@dataclass
class FtpServerInfo:
    host: str
    port: int
    user: str
    password: str
    root: Path
    tls: bool
    _thread: _FtpServerThread = field(repr=False)

    def stop(self) -> None:
        """Stop the server now, dropping every connection (it is stopped at the end of the test anyway)."""
        self._thread.stop()

    def put(self, relative: str, data: bytes, mtime: dt.datetime | None = None) -> Path:
        """Place a file under the server's root (``relative`` may contain directories)."""
        return _place(self.root, relative, data, mtime)

    def config(self, working_directory: str = "/", **overrides: Any) -> ConnectionConfig:
        return _login_config("FTP", self, working_directory, {"tls": self.tls, **overrides})


class _FtpServerThread(threading.Thread):
    """pyftpdlib's loop polled in small steps so that stopping is quick and happens in this thread."""

    def __init__(self, server: FTPServer) -> None:
        super().__init__(name="test-ftp-server", daemon=True)
        self.server = server
        self._stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                self.server.serve_forever(timeout=0.01, blocking=False, handle_exit=False)
        finally:
            self.server.close_all()

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=10)


def _run_ftp(
    handler_base: type[FTPHandler], root: Path, tls: bool, **handler_options: Any
) -> Iterator[FtpServerInfo]:
    root.mkdir(parents=True, exist_ok=True)
    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(root), perm="elradfmwMT")
    # No delay after a failed login (pyftpdlib waits 3 s to slow down password guessing).
    options = {"authorizer": authorizer, "auth_failed_timeout": 0.01, **handler_options}
    handler = type("TestHandler", (handler_base,), options)
    server = FTPServer((LOOPBACK, 0), handler)
    port = server.socket.getsockname()[1]
    thread = _FtpServerThread(server)
    thread.start()
    try:
        yield FtpServerInfo(
            host=LOOPBACK, port=port, user=USER, password=PASSWORD, root=root, tls=tls, _thread=thread
        )
    finally:
        thread.stop()


@pytest.fixture
def ftp_server(tmp_path: Path) -> Iterator[FtpServerInfo]:
    """A plain FTP server serving a fresh directory to USER / PASSWORD."""
    yield from _run_ftp(FTPHandler, tmp_path / "ftp-root", tls=False)


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate and its key in one PEM file, made for this test run."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "headwater test server")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    path = tmp_path_factory.mktemp("tls") / "server.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        + certificate.public_bytes(serialization.Encoding.PEM)
    )
    return path


@pytest.fixture
def ftps_server(tmp_path: Path, tls_certificate: Path) -> Iterator[FtpServerInfo]:
    """An explicit FTPS server that refuses clear-text control and data channels."""
    yield from _run_ftp(
        TLS_FTPHandler,
        tmp_path / "ftps-root",
        tls=True,
        certfile=str(tls_certificate),
        tls_control_required=True,
        tls_data_required=True,
    )


# -- SFTP -----------------------------------------------------------------------------------------


@dataclass
class SftpServerInfo:
    host: str
    port: int
    user: str
    password: str
    root: Path
    # Authorized client keys: OpenSSH text unencrypted, and encrypted with KEY_PASSPHRASE as PKCS#8 PEM
    # and in OpenSSH's own format.
    private_key: str
    encrypted_private_key: str
    encrypted_openssh_private_key: str
    passphrase: str
    _server: _SftpServer = field(repr=False)

    @property
    def host_key(self) -> str:
        """The server's current host key as OpenSSH public key text (``ssh-ed25519 AAAA...``)."""
        return self._server.host_key_text

    def put(self, relative: str, data: bytes, mtime: dt.datetime | None = None) -> Path:
        return _place(self.root, relative, data, mtime)

    def stop(self) -> None:
        """Stop the server now, dropping every connection (it is stopped at the end of the test anyway)."""
        self._server.stop()

    def restart_with_new_host_key(self) -> str:
        """Stop the server and start it again on the same port with a new host key; returns the new key."""
        self._server.restart(asyncssh.generate_private_key("ssh-ed25519"))
        return self.host_key

    def config(self, working_directory: str = "/", **overrides: Any) -> ConnectionConfig:
        return _login_config("SFTP", self, working_directory, overrides)


class _SshServer(asyncssh.SSHServer):
    def __init__(self, owner: _SftpServer) -> None:
        self._owner = owner
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._owner.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._owner.connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == USER and password == PASSWORD


class _SftpServer:
    """asyncssh's SFTP server, chrooted to ``root``, on its own event loop in a background thread."""

    def __init__(self, root: Path, host_key: asyncssh.SSHKey, authorized: list[asyncssh.SSHKey]) -> None:
        self.root = root
        self.host_key = host_key
        self.authorized = asyncssh.import_authorized_keys(
            "".join(key.export_public_key("openssh").decode() for key in authorized)
        )
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self.port = 0
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-sftp-server", daemon=True)

    @property
    def host_key_text(self) -> str:
        algorithm, data = self.host_key.export_public_key("openssh").decode().split()[:2]
        return f"{algorithm} {data}"

    def start(self) -> None:
        self._thread.start()
        self._in_loop(self._listen())

    def restart(self, host_key: asyncssh.SSHKey) -> None:
        self._in_loop(self._close())
        self.host_key = host_key
        self._in_loop(self._listen())

    def stop(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._in_loop(self._close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def _in_loop(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    async def _listen(self) -> None:
        def sftp_factory(channel: asyncssh.SSHServerChannel[bytes]) -> asyncssh.SFTPServer:
            return asyncssh.SFTPServer(channel, chroot=str(self.root).encode())

        self._acceptor = await asyncssh.listen(
            LOOPBACK,
            self.port,
            server_host_keys=[self.host_key],
            server_factory=lambda: _SshServer(self),
            authorized_client_keys=self.authorized,
            sftp_factory=sftp_factory,
            allow_scp=False,
        )
        self.port = self._acceptor.get_port()

    async def _close(self) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None
        for conn in list(self.connections):
            conn.close()
            await conn.wait_closed()
        self.connections.clear()


@dataclass(frozen=True)
class _ClientKeys:
    plain: asyncssh.SSHKey
    protected: asyncssh.SSHKey
    plain_text: str
    protected_pkcs8: str
    protected_openssh: str


@pytest.fixture(scope="session")
def sftp_client_keys() -> _ClientKeys:
    """Client keys made once per run: encrypting in OpenSSH's format is deliberately slow (bcrypt)."""
    plain = asyncssh.generate_private_key("ssh-ed25519")
    protected = asyncssh.generate_private_key("ssh-ed25519")
    return _ClientKeys(
        plain=plain,
        protected=protected,
        plain_text=plain.export_private_key("openssh").decode(),
        protected_pkcs8=protected.export_private_key("pkcs8-pem", KEY_PASSPHRASE).decode(),
        # 50 rounds: the fewest bcrypt accepts without a warning, to keep the test quick.
        protected_openssh=protected.export_private_key("openssh", KEY_PASSPHRASE, rounds=50).decode(),
    )


@pytest.fixture
def sftp_server(tmp_path: Path, sftp_client_keys: _ClientKeys) -> Iterator[SftpServerInfo]:
    """An SFTP server accepting USER / PASSWORD and two client keys, one of them passphrase-protected."""
    keys = sftp_client_keys
    root = tmp_path / "sftp-root"
    root.mkdir()
    server = _SftpServer(root, asyncssh.generate_private_key("ssh-ed25519"), [keys.plain, keys.protected])
    server.start()
    try:
        yield SftpServerInfo(
            host=LOOPBACK,
            port=server.port,
            user=USER,
            password=PASSWORD,
            root=root,
            private_key=keys.plain_text,
            encrypted_private_key=keys.protected_pkcs8,
            encrypted_openssh_private_key=keys.protected_openssh,
            passphrase=KEY_PASSPHRASE,
            _server=server,
        )
    finally:
        server.stop()


# -- S3 -------------------------------------------------------------------------------------------

S3_KEY_ID = "AKIAHEADWATERTEST"
S3_SECRET = "s3-Secret-Access-Key-for-tests"
S3_REGION = "us-east-1"


@dataclass
class S3ServerInfo:
    endpoint_url: str
    bucket: str
    access_key: str
    secret_key: str
    region: str
    _client: Any = field(repr=False)

    def put(self, key: str, data: bytes) -> None:
        """Store an object under ``key`` (the full key, prefix included)."""
        self._client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def keys(self) -> list[str]:
        listing = self._client.list_objects_v2(Bucket=self.bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def config(self, working_directory: str = "/", **overrides: Any) -> ConnectionConfig:
        base = ConnectionConfig(
            kind="S3",
            host=self.bucket,
            user=self.access_key,
            password=self.secret_key,
            region=self.region,
            endpoint_url=self.endpoint_url,
            working_directory=working_directory,
        )
        return replace(base, **overrides)


@dataclass
class _Moto:
    endpoint_url: str
    client: Any


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[_Moto]:
    """moto's S3 in server mode and a boto3 client for it, once per test run."""
    import boto3  # imported here: only S3 tests pay for loading moto and boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint_url = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=S3_REGION,
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
    )
    try:
        yield _Moto(endpoint_url, client)
    finally:
        client.close()
        server.stop()


@pytest.fixture
def s3_server(moto_s3: _Moto, monkeypatch: pytest.MonkeyPatch) -> S3ServerInfo:
    """A fresh bucket on the moto server; fake AWS credentials in the environment for anything that looks."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": S3_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
        "AWS_DEFAULT_REGION": S3_REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    bucket = f"headwater-{uuid.uuid4().hex[:12]}"
    moto_s3.client.create_bucket(Bucket=bucket)
    return S3ServerInfo(
        endpoint_url=moto_s3.endpoint_url,
        bucket=bucket,
        access_key=S3_KEY_ID,
        secret_key=S3_SECRET,
        region=S3_REGION,
        _client=moto_s3.client,
    )
