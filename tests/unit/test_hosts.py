"""SSRF protection: source hosts inside headwater's network are refused unless the operator allows them."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from headwater.connectors import connector_for
from headwater.connectors.base import ConnectionConfig
from headwater.connectors.hosts import checked_address, refusal_reason
from headwater.errors import HostRefused
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
