"""Refuse outbound connections into the network headwater runs in (SSRF protection).

A partner controls the host name of its source (and, later, of its webhooks), so a name resolving to
loopback, a private range or a cloud metadata endpoint would let it reach services that only headwater
can see. Every address a name resolves to is checked, and the client then connects to a checked address
rather than resolving the name a second time (which a hostile DNS server could answer differently).

``HostPolicy`` says what may be reached (built from the settings); ``HostGuard`` applies it to one
client's connections, pinning each name to the addresses it was checked with. The HTTP clients plug the
guard in with ``connectors.outbound``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from ipaddress import (
    IPv4Address,
    IPv6Address,
    IPv6Network,
    ip_address,
)

import anyio
import anyio.to_thread

from headwater.errors import ConnectionFailed, HostRefused
from headwater.hostnames import IPNetwork, bare_host, name_key, parse_allowed_hosts
from headwater.settings import Settings

IPAddress = IPv4Address | IPv6Address
# A blocking name lookup: every address ``host`` resolves to, as text. Tests inject their own.
Lookup = Callable[[str, int], Sequence[str]]

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

# IPv6 ranges whose last 32 bits are an IPv4 address that the packets end up at: judged by that address.
_EMBEDDING_LOW_32: tuple[tuple[str, IPv6Network], ...] = (
    ("an IPv4-mapped address", IPv6Network("::ffff:0:0/96")),
    ("an IPv4-translated address", IPv6Network("::ffff:0:0:0/96")),
    ("a NAT64 address", IPv6Network("64:ff9b::/96")),
    ("an IPv4-compatible address", IPv6Network("::/96")),
)
# RFC 8215 local-use NAT64: translated inside some operator's network, never public.
_LOCAL_NAT64 = IPv6Network("64:ff9b:1::/48")
_UNSPECIFIED_OR_LOOPBACK = frozenset({IPv6Address("::"), IPv6Address("::1")})

_ALLOW_HINT = "set HEADWATER_ALLOW_PRIVATE_HOSTS=true or list it in HEADWATER_ALLOWED_HOSTS to allow it"
# Lookups get their own threads, so a slow DNS server cannot take every worker thread of the process.
_LOOKUP_THREADS = 8
_lookup_limiter: anyio.CapacityLimiter | None = None


def _embedded(address: IPv6Address) -> tuple[str, list[IPv4Address]] | None:
    """The IPv4 addresses an IPv6 address carries (and routes to), with the name of the form."""
    if address in _UNSPECIFIED_OR_LOOPBACK:
        return None
    for form, network in _EMBEDDING_LOW_32:
        if address in network:
            return form, [IPv4Address(int(address) & 0xFFFFFFFF)]
    if address.sixtofour is not None:
        return "a 6to4 address", [address.sixtofour]
    if address.teredo is not None:
        server, client = address.teredo
        return "a Teredo address", [client, server]
    return None


def _own_reason(address: IPAddress) -> str | None:
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


def refusal_reason(address: IPAddress) -> str | None:
    """Why ``address`` may not be connected to, or None when it is a public address."""
    if isinstance(address, IPv6Address):
        if address in _LOCAL_NAT64:
            return "a local-use NAT64 address"
        embedded = _embedded(address)
        if embedded is not None:
            form, carried = embedded
            for inner in carried:
                reason = _own_reason(inner)
                if reason is not None:
                    return f"{form} embedding {inner}, {reason}"
            if form != "a 6to4 address" and form != "a Teredo address":
                return None  # the packets go to the public IPv4 address: judged by it alone
    return _own_reason(address)


def system_lookup(host: str, port: int) -> list[str]:
    """The operating system's answer for ``host``: every address, as text."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(sockaddr[0]) for _family, _type, _proto, _canonical, sockaddr in infos]


def _as_address(text: str) -> IPAddress | None:
    try:
        # Strip an IPv6 zone ("fe80::1%eth0") before parsing.
        return ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


@dataclass(frozen=True)
class HostPolicy:
    """What outbound connections may reach. The default refuses everything that is not public."""

    allow_private: bool = False
    # Operators' exceptions: these networks, and whatever these names resolve to, may be reached.
    allowed_networks: tuple[IPNetwork, ...] = ()
    allowed_names: frozenset[str] = frozenset()
    lookup: Lookup = field(default=system_lookup, compare=False)
    lookup_timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings, *, lookup: Lookup = system_lookup) -> HostPolicy:
        networks, names = parse_allowed_hosts(settings.allowed_hosts)
        return cls(
            allow_private=settings.allow_private_hosts,
            allowed_networks=networks,
            allowed_names=names,
            lookup=lookup,
            lookup_timeout=settings.connect_timeout,
        )

    def address_refusal(self, address: IPAddress) -> str | None:
        """Why this policy refuses ``address``, or None."""
        if self.allow_private:
            return None
        if any(address.version == net.version and address in net for net in self.allowed_networks):
            return None
        return refusal_reason(address)

    def name_allowed(self, host: str) -> bool:
        return name_key(host) in self.allowed_names

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address ``host`` resolves to, looked up in a worker thread within ``lookup_timeout``."""
        name = bare_host(host)
        if not name:
            raise ConnectionFailed("the source has no host")
        literal = _as_address(name)
        if literal is not None:
            return [literal]
        global _lookup_limiter
        if _lookup_limiter is None:
            _lookup_limiter = anyio.CapacityLimiter(_LOOKUP_THREADS)
        try:
            with anyio.fail_after(self.lookup_timeout):
                answers = await anyio.to_thread.run_sync(
                    self.lookup, name, port, abandon_on_cancel=True, limiter=_lookup_limiter
                )
        except TimeoutError as exc:
            raise ConnectionFailed(
                f"cannot resolve host {name}: no answer within {self.lookup_timeout:g}s"
            ) from exc
        except (OSError, UnicodeError) as exc:
            raise ConnectionFailed(f"cannot resolve host {name}") from exc
        addresses: list[IPAddress] = []
        for answer in answers:
            address = _as_address(answer)
            if address is not None and address not in addresses:
                addresses.append(address)
        if not addresses:
            raise ConnectionFailed(f"cannot resolve host {name}")
        return addresses

    async def checked(self, host: str, port: int) -> list[IPAddress]:
        """The addresses of ``host`` after every one of them was found allowed.

        Raises HostRefused naming the first refused address and why, ConnectionFailed when the name
        does not resolve.
        """
        addresses = await self.resolve(host, port)
        refused = self.first_refusal(host, addresses)
        if refused is not None:
            raise HostRefused(f"{refused}; refused ({_ALLOW_HINT})")
        return addresses

    def first_refusal(self, host: str, addresses: Sequence[IPAddress]) -> str | None:
        """``host ... is <why>`` for the first of ``host``'s addresses this policy refuses, or None."""
        if self.name_allowed(host):
            return None
        for address in addresses:
            reason = self.address_refusal(address)
            if reason is not None:
                return f"host {_shown(host, address)} is {reason}"
        return None


def _shown(host: str, address: IPAddress) -> str:
    return host.strip() if str(address) == bare_host(host) else f"{host.strip()} ({address})"


class HostGuard:
    """One client's view of a policy: each name is resolved and checked once, then pinned.

    Every connection the client makes, to the first host or to one it is redirected to, asks the guard
    for addresses (``addresses``) and passes the guard's last check before connecting (``allows``), so
    an unchecked host is never reached and a second DNS answer never replaces the checked one.
    """

    def __init__(self, policy: HostPolicy) -> None:
        self.policy = policy
        self._pinned: dict[str, list[IPAddress]] = {}
        self._vouched: set[IPAddress] = set()

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        key = name_key(host)
        pinned = self._pinned.get(key)
        if pinned is not None:
            return pinned
        if self.policy.allow_private:
            addresses = await self.policy.resolve(host, port)
        else:
            addresses = await self.policy.checked(host, port)
        if self.policy.name_allowed(host):
            self._vouched.update(addresses)  # the operator vouched for this name, whatever it resolves to
        self._pinned[key] = addresses
        return addresses

    def allows(self, address: IPAddress) -> str | None:
        """None when a connection to ``address`` may be made, else why not."""
        if address in self._vouched:
            return None
        return self.policy.address_refusal(address)

    def check_connect(self, address_text: str) -> None:
        """Raise HostRefused unless ``address_text`` (a socket address' host) may be connected to."""
        address = _as_address(address_text)
        if address is None:
            raise HostRefused(f"refused to connect to {address_text!r}: not an IP address")
        reason = self.allows(address)
        if reason is not None:
            raise HostRefused(f"address {address} is {reason}; refused ({_ALLOW_HINT})")


async def checked_address(
    host: str, port: int, *, allow_private: bool = False, policy: HostPolicy | None = None
) -> str:
    """The address to connect to for ``host``: the host itself when private hosts are allowed,
    else its first address after every address it resolves to was found allowed.

    Raises HostRefused naming the first refused address and why.
    """
    policy = policy or HostPolicy(allow_private=allow_private)
    if policy.allow_private:
        return bare_host(host)
    return str((await policy.checked(host, port))[0])
