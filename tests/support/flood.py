"""An unauthenticated flood of bogus sign-ins, and a legitimate caller beside it, over real HTTP.

Shared by the live-server flood test and ``benchmarks/auth_flood.py``. The flood comes from
``127.0.0.2`` and the legitimate caller from ``127.0.0.1`` (Linux answers on all of 127/8), so that
the server sees two client addresses without any proxy header.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from headwater.access import apikeys, credentials, oauth
from headwater.runtime import open_runtime
from headwater.settings import Settings

FLOOD_ADDRESS = "127.0.0.2"
LEGITIMATE_ADDRESS = "127.0.0.1"
TENANT = "flooded"
TOUCHPOINT = "shop"
PRINCIPAL = "ada@flooded.example"
PASSWORD = "analytical engine"
# The flood guesses at another partner and another client: their lock-out must not reach Ada's.
VICTIM_PRINCIPAL = "bob@flooded.example"


@dataclass(frozen=True)
class Credentials:
    touchpoint_token: str
    client_id: str
    client_secret: str
    victim_client_id: str
    api_key: str

    @property
    def touchpoint_headers(self) -> dict[str, str]:
        return {"Thalamus-Touchpoint": TOUCHPOINT, "Thalamus-Token": self.touchpoint_token}


async def provision(settings: Settings) -> Credentials:
    """A tenant with a touchpoint, two partners, two OAuth2 clients and an API key."""
    async with open_runtime(settings) as runtime, runtime.db.session() as session:
        tenant = await credentials.create_tenant(session, TENANT)
        touchpoint = await credentials.create_touchpoint(session, runtime.box, tenant.id, TOUCHPOINT)
        await credentials.create_partner(session, tenant.id, PRINCIPAL, password=PASSWORD)
        await credentials.create_partner(session, tenant.id, VICTIM_PRINCIPAL, password=PASSWORD)
        client = await oauth.create_client(session, TENANT)
        victim = await oauth.create_client(session, TENANT)
        key = await apikeys.issue(session, runtime.box, tenant.id)
    return Credentials(touchpoint.token, client.client_id, client.secret, victim.client_id, key.key)


def client_from(address: str, base_url: str, connections: int) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(
        local_address=address,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )
    return httpx.AsyncClient(transport=transport, base_url=base_url, timeout=120)


def _bogus_token_request(http: httpx.AsyncClient, given: Credentials, n: int) -> Awaitable[httpx.Response]:
    client_id = given.victim_client_id if n % 2 else "hwc_" + secrets.token_hex(12)
    return http.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": f"guess-{n}"},
    )


def _bogus_login(http: httpx.AsyncClient, given: Credentials, n: int) -> Awaitable[httpx.Response]:
    principal = VICTIM_PRINCIPAL if n % 2 else f"nobody-{n}@flooded.example"
    return http.post(
        "/api/v4/login",
        headers=given.touchpoint_headers,
        json={"principal": principal, "password": f"guess-{n}"},
    )


async def status_of(send: Callable[[], Awaitable[httpx.Response]]) -> int:
    """The status of a request, sent again once if the connection dropped under it; 0 if it failed twice.

    A kept-alive HTTP/1.1 connection can be closed by the server just as the client reuses it (the
    server's idle timeout, or a response sent before the body was read); the request then never
    reached the application, and clients send it again, as browsers do. Timeouts are not retried.
    """
    for attempt in range(2):
        try:
            return (await send()).status_code
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.ConnectError):
            if attempt:
                return 0
        except httpx.TransportError:
            return 0
    raise AssertionError("unreachable")


async def flood(base_url: str, given: Credentials, *, requests: int, concurrency: int) -> Counter[int]:
    """``requests`` bogus token requests and as many bogus logins, each kind ``concurrency`` at a time.

    Answers the count of each status; a request that fails in transport counts as status 0.
    """
    statuses: Counter[int] = Counter()

    async def kind(send: Callable[[httpx.AsyncClient, Credentials, int], Awaitable[httpx.Response]]) -> None:
        numbers = iter(range(requests))
        async with client_from(FLOOD_ADDRESS, base_url, concurrency) as http:

            async def worker() -> None:
                for n in numbers:
                    statuses[await status_of(functools.partial(send, http, given, n))] += 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))

    await asyncio.gather(kind(_bogus_token_request), kind(_bogus_login))
    return statuses


@dataclass
class Answer:
    what: str
    status: int
    seconds: float


@dataclass
class LegitimateCaller:
    """Ada: pings with the API key, logs in with her password, asks for a token with her secret."""

    http: httpx.AsyncClient
    given: Credentials
    answers: list[Answer] = field(default_factory=list)

    async def _timed(self, what: str, request: Callable[[], Awaitable[httpx.Response]]) -> None:
        started = time.perf_counter()
        status = await status_of(request)
        self.answers.append(Answer(what, status, time.perf_counter() - started))

    async def round(self) -> None:
        await self._timed("GET /v1/ping", lambda: self.http.get("/v1/ping", auth=(self.given.api_key, "")))
        await self._timed(
            "POST /api/v4/login",
            lambda: self.http.post(
                "/api/v4/login",
                headers=self.given.touchpoint_headers,
                json={"principal": PRINCIPAL, "password": PASSWORD},
            ),
        )
        self.http.cookies.clear()  # each round logs in afresh, not "already logged in"
        await self._timed(
            "POST /oauth2/token",
            lambda: self.http.post(
                "/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(self.given.client_id, self.given.client_secret),
            ),
        )

    async def rounds_until(self, done: asyncio.Event, *, at_least: int = 1) -> None:
        for count in itertools.count():
            if count >= at_least and done.is_set():
                return
            await self.round()
