"""Host names and address lists as operators write them (``HEADWATER_ALLOWED_HOSTS``), parsed the same way
by the settings, which refuse a bad list at start-up, and by the outbound guard (``connectors/hosts.py``)."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network

IPNetwork = IPv4Network | IPv6Network


def bare_host(host: str) -> str:
    """``host`` without surrounding blanks or the brackets of an IPv6 literal."""
    return host.strip().strip("[]")


def name_key(host: str) -> str:
    """The form under which a host name is compared: bare, lower case, no trailing dot."""
    return bare_host(host).rstrip(".").lower()


def parse_allowed_hosts(text: str) -> tuple[tuple[IPNetwork, ...], frozenset[str]]:
    """``HEADWATER_ALLOWED_HOSTS``: comma-separated addresses, networks (CIDR) and host names."""
    networks: list[IPNetwork] = []
    names: set[str] = set()
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ip_network(bare_host(entry), strict=False))
            continue
        except ValueError:
            pass
        name = name_key(entry)
        if not name or any(char.isspace() or char in "/@:" for char in name):
            raise ValueError(f"{entry!r} is neither an address, a network (CIDR) nor a host name")
        names.add(name)
    return tuple(networks), frozenset(names)
