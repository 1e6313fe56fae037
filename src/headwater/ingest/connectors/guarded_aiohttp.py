"""The host guard plugged into aiohttp, S3's HTTP client, as ``outbound`` plugs it into httpx.

A module of its own so that aiohttp (some 7 MB and 70 modules) is loaded only by a process that talks
to S3, not by every process that sends webhooks.
"""

from __future__ import annotations

import socket
from typing import Any

from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult

from headwater.ingest.connectors.hosts import HostGuard


class GuardedResolver(AbstractResolver):
    """aiohttp resolver answering with the guard's checked, pinned addresses; refuses the rest."""

    def __init__(self, guard: HostGuard) -> None:
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers: list[ResolveResult] = []
        for address in await self._guard.addresses(host, port):
            address_family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            if family not in (socket.AF_UNSPEC, address_family):
                continue
            answers.append(
                ResolveResult(
                    hostname=host,
                    host=str(address),
                    port=port,
                    family=address_family,
                    proto=0,
                    flags=socket.AI_NUMERICHOST,
                )
            )
        if not answers:
            raise OSError(f"{host} has no address of the family asked for")
        return answers

    async def close(self) -> None:
        return None


def guarded_socket_factory(guard: HostGuard) -> Any:
    """aiohttp's last step before connecting: URLs with an IP address skip the resolver, not this."""

    def make_socket(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _canonical, sockaddr = addr_info
        guard.check_connect(str(sockaddr[0]))
        return socket.socket(family=family, type=type_, proto=proto)

    return make_socket


def aiohttp_connector_args(guard: HostGuard) -> dict[str, Any]:
    """``TCPConnector`` arguments (and aiobotocore's ``AioConfig(connector_args=...)``) for ``guard``."""
    return {"resolver": GuardedResolver(guard), "socket_factory": guarded_socket_factory(guard)}
