"""The host guard against real attacks: redirects to internal hosts and DNS rebinding, over S3 and httpx.

The test servers listen on 127.0.0.1, itself a private address: the guard is told to allow exactly
that address (``HEADWATER_ALLOWED_HOSTS=127.0.0.1``) and refuses every other private one. The
"internal service" an attack aims at is a trap server on 127.0.0.2 that counts what reaches it.
"""

from __future__ import annotations

import io
import ssl
from collections import Counter
from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path

import aiohttp
import httpx
import pytest

from headwater.errors import HostRefused
from headwater.ingest.connectors import connector_for
from headwater.ingest.connectors.guarded_aiohttp import aiohttp_connector_args
from headwater.ingest.connectors.hosts import HostGuard, HostPolicy
from headwater.ingest.connectors.outbound import guarded_client
from headwater.ingest.connectors.s3 import S3Connector
from headwater.settings import Settings
from tests.servers import S3ServerInfo
from tests.support.http_servers import http_server, port_of

TEST_SERVER = "127.0.0.1"
INTERNAL = "127.0.0.2"


@pytest.fixture
def guarded_settings() -> Settings:
    """The production default (private hosts refused) with only the test servers' address allowed."""
    return Settings(allow_private_hosts=False, allowed_hosts=TEST_SERVER, connect_timeout=3)


class RebindingLookup:
    """A hostile DNS server: the first answer for a name is ``first``, every later one is ``then``."""

    def __init__(self, first: str, then: str) -> None:
        self.first = first
        self.then = then
        self.asked: Counter[str] = Counter()

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked[host] += 1
        return [self.first if self.asked[host] == 1 else self.then]


def rebinding_policy(lookup: RebindingLookup) -> HostPolicy:
    return HostPolicy(allowed_networks=(ip_network(TEST_SERVER),), lookup=lookup, lookup_timeout=3)


@pytest.fixture
def trap() -> Iterator[object]:
    with http_server(INTERNAL) as server:
        yield server


# -- S3 (s3fs -> aiobotocore -> aiohttp) ----------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["http://{trap}/latest/meta-data/", "http://10.9.9.9:9000/", "http://169.254.169.254/latest/meta-data/"],
    ids=["internal-service", "private-address", "metadata"],
)
async def test_an_s3_endpoint_redirecting_to_an_internal_host_is_refused_before_connecting(
    guarded_settings: Settings, trap: object, target: str
) -> None:
    location = target.format(trap=f"{INTERNAL}:{port_of(trap)}")  # type: ignore[arg-type]
    with http_server(TEST_SERVER, redirect_to=location) as endpoint:
        config = S3ServerInfo(
            endpoint_url=f"http://{TEST_SERVER}:{port_of(endpoint)}",
            bucket="partner-bucket",
            access_key="AKIAEXAMPLE",
            secret_key="example-secret-key",
            region="us-east-1",
            _client=None,
        ).config()
        with pytest.raises(HostRefused) as refused:
            async with connector_for(config, guarded_settings):
                pass
        assert endpoint.hits, "the endpoint itself is allowed and was asked"
    assert trap.hits == []  # type: ignore[attr-defined]
    assert location.split("/")[2].split(":")[0] in refused.value.message


async def test_an_s3_endpoint_name_rebound_to_an_internal_address_keeps_its_checked_address(
    s3_server: S3ServerInfo,
) -> None:
    moto_port = int(s3_server.endpoint_url.rsplit(":", 1)[1])
    s3_server.put("in/sales.csv", b"a,b\n1,2\n")
    lookup = RebindingLookup(first=TEST_SERVER, then=INTERNAL)
    # A name without dots: moto would read a dotted one as <bucket>.<its domain>.
    config = s3_server.config("in", endpoint_url=f"http://objectstore:{moto_port}")
    settings = Settings(allow_private_hosts=False, connect_timeout=3)
    # The internal service listens where the second answer points, on the S3 server's port.
    with http_server(INTERNAL, moto_port) as internal:
        async with S3Connector(config, settings, hosts=rebinding_policy(lookup)) as connector:
            files = await connector.list_files()
            sink = io.BytesIO()
            await connector.download("sales.csv", sink)
            again = await connector.list_files()
    assert [f.path for f in files] == [f.path for f in again] == ["sales.csv"]
    assert sink.getvalue() == b"a,b\n1,2\n"
    assert internal.hits == []
    assert lookup.asked and set(lookup.asked.values()) == {1}  # each name resolved once, then pinned


async def test_an_s3_endpoint_whose_name_resolves_to_an_internal_address_is_refused(
    s3_server: S3ServerInfo,
) -> None:
    lookup = RebindingLookup(first=INTERNAL, then=INTERNAL)
    config = s3_server.config(endpoint_url="http://s3.internal.test:9000")
    settings = Settings(allow_private_hosts=False, connect_timeout=3)
    with pytest.raises(HostRefused, match=r"s3\.internal\.test \(127\.0\.0\.2\) is a loopback address"):
        async with S3Connector(config, settings, hosts=rebinding_policy(lookup)):
            pass


async def test_s3_reaches_a_test_server_the_operator_allowed(
    s3_server: S3ServerInfo, guarded_settings: Settings
) -> None:
    s3_server.put("in/a.csv", b"x\n")
    async with connector_for(s3_server.config("in"), guarded_settings) as connector:
        assert [f.path for f in await connector.list_files()] == ["a.csv"]


# -- httpx (webhooks and any other outbound HTTP) ---------------------------------------------------


def _guard(settings: Settings | None = None, lookup: RebindingLookup | None = None) -> HostGuard:
    if lookup is not None:
        return HostGuard(rebinding_policy(lookup))
    assert settings is not None
    return HostGuard(HostPolicy.from_settings(settings))


@pytest.mark.parametrize(
    "target",
    [
        "http://{trap}/hook",
        "http://10.9.9.9/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:80/",
    ],
    ids=["internal-service", "private-address", "metadata", "ipv6-loopback"],
)
async def test_httpx_follows_no_redirect_to_an_internal_host(
    guarded_settings: Settings, trap: object, target: str
) -> None:
    location = target.format(trap=f"{INTERNAL}:{port_of(trap)}")  # type: ignore[arg-type]
    with http_server(TEST_SERVER, redirect_to=location) as endpoint:
        async with guarded_client(_guard(guarded_settings), follow_redirects=True) as client:
            with pytest.raises(HostRefused):
                await client.post(f"http://{TEST_SERVER}:{port_of(endpoint)}/hook", json={"event": "x"})
    assert trap.hits == []  # type: ignore[attr-defined]


async def test_httpx_connects_to_the_checked_address_when_the_name_is_rebound() -> None:
    lookup = RebindingLookup(first=TEST_SERVER, then=INTERNAL)
    with http_server(TEST_SERVER) as public, http_server(INTERNAL, port_of(public)) as internal:
        async with guarded_client(_guard(lookup=lookup)) as client:
            answers = [await client.get(f"http://hooks.rebind.test:{port_of(public)}/") for _ in range(3)]
    assert [a.text for a in answers] == ["reached"] * 3
    assert len(public.hits) == 3 and internal.hits == []
    assert all("Host=hooks.rebind.test:" in hit for hit in public.hits)
    assert lookup.asked == Counter({"hooks.rebind.test": 1})


async def test_httpx_refuses_a_name_resolving_to_an_internal_address() -> None:
    lookup = RebindingLookup(first=INTERNAL, then=INTERNAL)
    async with guarded_client(_guard(lookup=lookup)) as client:
        with pytest.raises(HostRefused, match="loopback"):
            await client.get("http://hooks.internal.test/")


# -- TLS: the connection goes to the checked address, the certificate is checked against the name --


def _trusting(certificate: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate))


async def test_httpx_verifies_tls_against_the_host_name_not_the_address(tls_certificate: Path) -> None:
    lookup = RebindingLookup(first=TEST_SERVER, then=TEST_SERVER)
    with http_server(TEST_SERVER, certificate=tls_certificate) as server:
        port = port_of(server)
        async with guarded_client(_guard(lookup=lookup), verify=_trusting(tls_certificate)) as client:
            assert (await client.get(f"https://localhost:{port}/")).text == "reached"
            # Same address, a name the certificate does not carry: refused although the IP is in it.
            with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|match"):
                await client.get(f"https://wrong.rebind.test:{port}/")


async def test_aiohttp_verifies_tls_against_the_host_name_not_the_address(tls_certificate: Path) -> None:
    lookup = RebindingLookup(first=TEST_SERVER, then=TEST_SERVER)
    guard = _guard(lookup=lookup)
    with http_server(TEST_SERVER, certificate=tls_certificate) as server:
        port = port_of(server)
        connector = aiohttp.TCPConnector(ssl=_trusting(tls_certificate), **aiohttp_connector_args(guard))
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.get(f"https://localhost:{port}/") as answer:
                assert await answer.text() == "reached"
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await session.get(f"https://wrong.rebind.test:{port}/")
