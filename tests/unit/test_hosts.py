"""SSRF protection: source hosts inside headwater's network are refused unless the operator allows them."""

from __future__ import annotations

import socket
import time
from ipaddress import ip_address

import pytest
from pydantic import ValidationError

from headwater.errors import ConnectionFailed, HostRefused
from headwater.ingest.connectors import connector_for
from headwater.ingest.connectors.base import ConnectionConfig
from headwater.ingest.connectors.hosts import HostPolicy, Lookup, checked_address, refusal_reason
from headwater.settings import Settings


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("169.254.169.254", "metadata"),
        ("10.0.0.1", "private"),
        ("192.168.1.10", "private"),
        ("172.16.0.1", "private"),
        ("::1", "loopback"),
        ("[::1]", "loopback"),
        ("fd00:ec2::254", "metadata"),
        ("::ffff:127.0.0.1", "loopback"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("100.64.0.1", "not a public address"),
        ("localhost", "loopback"),
    ],
)
async def test_internal_hosts_are_refused_when_private_hosts_are_not_allowed(host: str, reason: str) -> None:
    with pytest.raises(HostRefused, match=reason):
        await checked_address(host, 21, allow_private=False)


async def test_refusal_names_the_setting_that_allows_private_hosts() -> None:
    with pytest.raises(HostRefused, match="HEADWATER_ALLOW_PRIVATE_HOSTS"):
        await checked_address("127.0.0.1", 22, allow_private=False)


async def test_a_name_resolving_to_loopback_is_refused_and_the_address_is_named() -> None:
    with pytest.raises(HostRefused) as refused:
        await checked_address("localhost", 22, allow_private=False)
    assert "localhost (" in str(refused.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "169.254.169.254", "10.0.0.1", "::1", "localhost"])
async def test_internal_hosts_are_allowed_when_the_operator_allows_private_hosts(host: str) -> None:
    assert await checked_address(host, 21, allow_private=True) == host.strip("[]")


async def test_a_public_address_is_connected_to_as_resolved() -> None:
    assert await checked_address("8.8.8.8", 21, allow_private=False) == "8.8.8.8"


def test_public_addresses_have_no_refusal_reason() -> None:
    assert refusal_reason(ip_address("93.184.216.34")) is None
    assert refusal_reason(ip_address("2606:4700:4700::1111")) is None


@pytest.mark.parametrize(
    "config",
    [
        ConnectionConfig(kind="FTP", host="127.0.0.1", working_directory="/", port=21),
        ConnectionConfig(kind="FTP", host="10.0.0.1", working_directory="/", tls=True),
        ConnectionConfig(kind="SFTP", host="localhost", working_directory="/", password="x"),
        ConnectionConfig(kind="SFTP", host="169.254.169.254", working_directory="/"),
        ConnectionConfig(
            kind="S3", host="bucket", working_directory="/", endpoint_url="http://169.254.169.254/latest"
        ),
        ConnectionConfig(
            kind="S3", host="bucket", working_directory="/", endpoint_url="http://127.0.0.1:9000"
        ),
    ],
    ids=["ftp-loopback", "ftps-private", "sftp-localhost", "sftp-metadata", "s3-metadata", "s3-loopback"],
)
async def test_connectors_refuse_internal_hosts_before_connecting(config: ConnectionConfig) -> None:
    settings = Settings(allow_private_hosts=False, connect_timeout=1)
    with pytest.raises(HostRefused):
        async with connector_for(config, settings):
            pass


# -- IPv6 forms that carry an IPv4 address ---------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("2002:7f00:1::", "6to4 address embedding 127.0.0.1, a loopback"),
        ("2002:a9fe:a9fe::1", "6to4 address embedding 169.254.169.254, a cloud metadata"),
        ("2002:a00:1::", "6to4 address embedding 10.0.0.1, a private"),
        ("64:ff9b::7f00:1", "NAT64 address embedding 127.0.0.1, a loopback"),
        ("64:ff9b::a9fe:a9fe", "NAT64 address embedding 169.254.169.254, a cloud metadata"),
        ("64:ff9b::c0a8:10a", "NAT64 address embedding 192.168.1.10, a private"),
        ("64:ff9b:1::808:808", "local-use NAT64"),
        ("64:ff9b:1:ffff::a00:1", "local-use NAT64"),
        ("::ffff:10.0.0.1", "IPv4-mapped address embedding 10.0.0.1, a private"),
        ("::ffff:169.254.169.254", "IPv4-mapped address embedding 169.254.169.254, a cloud metadata"),
        ("::ffff:0:a00:1", "IPv4-translated address embedding 10.0.0.1, a private"),
        ("::7f00:1", "IPv4-compatible address embedding 127.0.0.1, a loopback"),
        ("::a9fe:a9fe", "IPv4-compatible address embedding 169.254.169.254, a cloud metadata"),
        # Teredo: the client's IPv4 address is stored inverted in the last 32 bits.
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo address embedding 127.0.0.1, a loopback"),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo address embedding 10.0.0.1, a private"),
    ],
)
def test_ipv6_forms_embedding_a_refused_ipv4_address_are_refused(address: str, reason: str) -> None:
    found = refusal_reason(ip_address(address))
    assert found is not None and reason in found


@pytest.mark.parametrize("address", ["2002:7f00:1::", "64:ff9b::a9fe:a9fe", "::7f00:1", "64:ff9b:1::1"])
async def test_a_host_given_as_an_embedding_ipv6_address_is_refused(address: str) -> None:
    with pytest.raises(HostRefused, match=r"embedding|NAT64"):
        await checked_address(f"[{address}]", 443, allow_private=False)


@pytest.mark.parametrize(
    "address",
    ["64:ff9b::808:808", "::ffff:8.8.8.8", "2002:808:808::1"],
    ids=["nat64-public", "mapped-public", "6to4-public"],
)
def test_ipv6_forms_embedding_a_public_ipv4_address_are_public(address: str) -> None:
    assert refusal_reason(ip_address(address)) is None


def test_unspecified_and_loopback_ipv6_keep_their_own_reasons() -> None:
    assert refusal_reason(ip_address("::")) == "an unspecified address"
    assert refusal_reason(ip_address("::1")) == "a loopback address"


# -- the operator's allow-list ---------------------------------------------------------------------


def _lookup(answers: dict[str, list[str]]) -> Lookup:
    return lambda host, port: answers[host.lower()]


async def test_allowed_networks_and_names_are_reached_and_every_other_private_host_is_refused() -> None:
    settings = Settings(allowed_hosts="10.1.0.0/16, minio.internal.,[fd00::5]", allow_private_hosts=False)
    policy = HostPolicy.from_settings(
        settings,
        lookup=_lookup(
            {"minio.internal": ["10.9.0.7"], "db.internal": ["10.9.0.8"], "mixed": ["10.1.0.1", "10.9.0.1"]}
        ),
    )
    assert await checked_address("10.1.2.3", 9000, policy=policy) == "10.1.2.3"
    assert await checked_address("fd00::5", 9000, policy=policy) == "fd00::5"
    assert await checked_address("MINIO.internal", 9000, policy=policy) == "10.9.0.7"
    for refused in ("10.2.0.1", "db.internal", "mixed", "169.254.169.254", "fd00::6"):
        with pytest.raises(HostRefused):
            await checked_address(refused, 9000, policy=policy)


def test_an_allowed_hosts_entry_that_is_no_address_network_or_name_stops_start_up() -> None:
    with pytest.raises(ValidationError, match="neither an address"):
        Settings(allowed_hosts="10.0.0.0/8, http://minio:9000")


async def test_a_lookup_that_does_not_answer_in_time_is_a_clear_connection_failure() -> None:
    def stalled(host: str, port: int) -> list[str]:
        time.sleep(2)
        return ["8.8.8.8"]

    policy = HostPolicy(lookup=stalled, lookup_timeout=0.2)
    with pytest.raises(ConnectionFailed, match=r"no answer within 0\.2s"):
        await checked_address("slow.example", 21, policy=policy)


async def test_a_name_that_does_not_resolve_is_a_connection_failure() -> None:
    def unknown(host: str, port: int) -> list[str]:
        raise socket.gaierror(-2, "Name or service not known")

    with pytest.raises(ConnectionFailed, match=r"cannot resolve host nowhere\.example"):
        await checked_address("nowhere.example", 21, policy=HostPolicy(lookup=unknown))
