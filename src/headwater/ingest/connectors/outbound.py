"""The host guard plugged into the HTTP clients headwater talks through: httpx here, aiohttp (S3's
client) in ``guarded_aiohttp``.

Both connect to the addresses the guard checked and pinned, never to a second DNS answer, and every
connection goes through the guard, including those to hosts a redirect points at. TLS is still verified
against the host name (SNI and certificate), only the TCP connection goes to the checked address.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from headwater.ingest.connectors.hosts import HostGuard


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that connects only to addresses ``guard`` allows.

    Each request's host is resolved and checked by the guard; the request then goes to the checked
    address with the host name kept for the Host header, SNI and the certificate check. One inner
    transport per host name, so a TLS connection made for one name is never reused for another.
    """

    def __init__(self, guard: HostGuard, **transport_options: Any) -> None:
        self._guard = guard
        self._options = transport_options
        self._transports: dict[str, httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = await self._guard.addresses(url.host, port)
        transport = self._transports.get(url.host)
        if transport is None:
            transport = self._transports[url.host] = httpx.AsyncHTTPTransport(**self._options)
        last_error: httpx.ConnectError | None = None
        for address in addresses:
            self._guard.check_connect(str(address))
            try:
                return await transport.handle_async_request(_to_address(request, str(address)))
            except httpx.ConnectError as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def aclose(self) -> None:
        transports, self._transports = list(self._transports.values()), {}
        for transport in transports:
            await transport.aclose()


def _to_address(request: httpx.Request, address: str) -> httpx.Request:
    if address == request.url.host:
        return request
    extensions = dict(request.extensions)
    if request.url.scheme == "https":
        extensions["sni_hostname"] = request.url.host
    # The headers were made from the original URL: Host still names the host, not the address.
    return httpx.Request(
        request.method,
        request.url.copy_with(host=address),
        headers=request.headers,
        stream=request.stream,
        extensions=extensions,
    )


def guarded_client(
    guard: HostGuard, *, verify: ssl.SSLContext | bool = True, **options: Any
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose every connection goes through ``guard``.

    Proxies from the environment are ignored (they would bypass the transport); redirects are off
    unless asked for, and when followed each hop is checked like the first.
    """
    options.setdefault("follow_redirects", False)
    return httpx.AsyncClient(transport=GuardedTransport(guard, verify=verify), trust_env=False, **options)
