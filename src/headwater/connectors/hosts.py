"""Refuse source hosts that point inside the network headwater runs in (SSRF protection).

A partner controls the host name of its source, so a name resolving to loopback, a private range or a
cloud metadata endpoint would let it reach services that only headwater can see. Every address the name
resolves to is checked, and the connector then connects to a checked address rather than resolving the
name a second time (which a hostile DNS server could answer differently).
"""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address, ip_address

import anyio.to_thread

from headwater.errors import ConnectionFailed, HostRefused

IPAddress = IPv4Address | IPv6Address

# Metadata endpoints of the big clouds; most are link-local or private anyway, listed so that the
# refusal says what they are.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, ...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.123",  # AWS time sync
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::123",
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)

_ALLOW_HINT = "set HEADWATER_ALLOW_PRIVATE_HOSTS=true to allow it"


def refusal_reason(address: IPAddress) -> str | None:
    """Why ``address`` may not be connected to, or None when it is a public address."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for reason, matches in (
        ("a loopback address", address.is_loopback),
        ("a link-local address", address.is_link_local),
        ("an unspecified address", address.is_unspecified),
        ("a multicast address", address.is_multicast),
        ("a reserved address", address.is_reserved),
        ("a private address", address.is_private),
        ("not a public address", not address.is_global),
    ):
        if matches:
            return reason
    return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, resolved in a worker thread."""
    name = host.strip().strip("[]")
    if not name:
        raise ConnectionFailed("the source has no host")
    try:
        infos = await anyio.to_thread.run_sync(
            lambda: socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise ConnectionFailed(f"cannot resolve host {name}") from exc
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canonical, sockaddr in infos:
        # Strip an IPv6 zone ("fe80::1%eth0") before parsing.
        address = ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ConnectionFailed(f"cannot resolve host {name}")
    return addresses


async def checked_address(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to for ``host``: the host itself when private hosts are allowed,
    else its first address after every address it resolves to was found public.

    Raises HostRefused naming the first refused address and why.
    """
    if allow_private:
        return host.strip().strip("[]")
    addresses = await resolve(host, port)
    for address in addresses:
        reason = refusal_reason(address)
        if reason is not None:
            shown = (
                host.strip() if str(address) == host.strip().strip("[]") else f"{host.strip()} ({address})"
            )
            raise HostRefused(f"host {shown} is {reason}; refused ({_ALLOW_HINT})")
    return str(addresses[0])
