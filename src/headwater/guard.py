"""Checking hashed secrets without letting a flood of wrong ones starve everyone else.

One argon2 verification takes 64 MiB and a core for a good part of a second, so every check of a
hashed secret comes through here:

- at most ``auth_verify_concurrency`` run at once in the process; one that cannot start within
  ``auth_verify_wait`` seconds is refused (``RateLimited``) instead of queueing without end;
- one client address has at most ``auth_verify_per_address`` attempts under way (reading the hash,
  waiting, checking), so a flood from one address neither queues in front of everyone else nor
  takes the database's connections;
- failures are counted per client address and per principal (``limits``: in Redis when configured,
  shared by every replica, else in memory); past either limit an attempt is refused
  (``TooManyFailures``) before the database is even read.

Within a ``turn``, callers read the hash in a short transaction of their own and call ``verify``
holding no database connection. The client address is the ASGI one: a proxy's ``X-Forwarded-For`` counts only when the
server is told to trust that proxy (uvicorn's ``--proxy-headers`` and ``--forwarded-allow-ips``).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter

from headwater.crypto import hash_secret, new_token, verify_secret
from headwater.errors import RateLimited, TooManyFailures
from headwater.settings import Settings

NAMESPACE = "auth-failures"
# A refusal because the checks are busy lasts as long as a check or two.
BUSY_RETRY_AFTER = 1


@dataclass(frozen=True)
class Attempt:
    """One try at a secret: which kind, from which client address, for which principal.

    ``principal`` is what names the credential besides the secret (a touchpoint code, a tenant and
    partner principal, an OAuth2 client id); None when the secret is its own name (API keys).
    """

    credential: str
    address: str
    principal: str | None = None


class AuthGuard:
    def __init__(
        self,
        storage: Storage,
        *,
        concurrency: int,
        wait: float,
        per_address: int,
        failures_per_address: RateLimitItem,
        failures_per_principal: RateLimitItem,
    ) -> None:
        self._strategy = MovingWindowRateLimiter(storage)
        self._slots = anyio.CapacityLimiter(concurrency)
        self._wait = wait
        self._per_address = per_address
        self._in_flight: dict[str, int] = {}
        self._failures_per_address = failures_per_address
        self._failures_per_principal = failures_per_principal
        self._decoy: str | None = None
        self._decoy_made = anyio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, storage: Storage) -> AuthGuard:
        return cls(
            storage,
            concurrency=settings.auth_verify_concurrency,
            wait=settings.auth_verify_wait,
            per_address=settings.auth_verify_per_address,
            failures_per_address=parse(settings.auth_failures_per_address),
            failures_per_principal=parse(settings.auth_failures_per_principal),
        )

    def _counters(self, attempt: Attempt) -> list[tuple[RateLimitItem, str]]:
        counters = [(self._failures_per_address, f"address:{attempt.address}")]
        if attempt.principal is not None:
            # Hashed: principals are caller-chosen text of any shape; the key stays short and plain.
            named = hashlib.sha256(attempt.principal.encode("utf-8", "replace")).hexdigest()[:32]
            counters.append((self._failures_per_principal, f"{attempt.credential}:{named}"))
        return counters

    @property
    def checks_under_way(self) -> int:
        """Secret checks running now (not those waiting for a slot)."""
        return int(self._slots.borrowed_tokens)

    async def admit(self, attempt: Attempt) -> None:
        """``TooManyFailures`` when the address or the principal has spent its failures."""
        for item, key in self._counters(attempt):
            if not await self._strategy.test(item, NAMESPACE, key):
                reset_at, _remaining = await self._strategy.get_window_stats(item, NAMESPACE, key)
                retry_after = max(1, math.ceil(reset_at - time.time()))
                raise TooManyFailures(retry_after, attempt.credential)

    async def failed(self, attempt: Attempt) -> None:
        """Count one failure against the address and the principal."""
        for item, key in self._counters(attempt):
            await self._strategy.hit(item, NAMESPACE, key)

    @asynccontextmanager
    async def turn(self, attempt: Attempt) -> AsyncIterator[None]:
        """One attempt, admitted and counted as under way for its address until the block ends.

        ``TooManyFailures`` when the address or the principal has spent its failures;
        ``RateLimited`` when the address already has its share of attempts under way. Both come
        before the caller reads anything: inside, read the hash in a short transaction, then
        ``verify`` holding no connection.
        """
        await self.admit(attempt)
        address = attempt.address
        under_way = self._in_flight.get(address, 0)
        if under_way >= self._per_address:
            raise RateLimited(BUSY_RETRY_AFTER)
        self._in_flight[address] = under_way + 1
        try:
            yield
        finally:
            remaining = self._in_flight[address] - 1
            if remaining:
                self._in_flight[address] = remaining
            else:
                del self._in_flight[address]

    async def verify(self, hashed: str | None, secret: str) -> bool:
        """Whether ``secret`` matches ``hashed``, checked in a thread once one of the slots is free.

        ``hashed`` None (no such principal) checks a decoy instead and answers False, so that an
        unknown principal takes as long as a known one. ``RateLimited`` when no slot frees up in
        time.
        """
        acquired = False
        with anyio.move_on_after(self._wait):
            await self._slots.acquire()
            acquired = True
        if not acquired:
            raise RateLimited(BUSY_RETRY_AFTER)
        try:
            if hashed is None:
                await anyio.to_thread.run_sync(verify_secret, await self._decoy_hash(), secret)
                return False
            return await anyio.to_thread.run_sync(verify_secret, hashed, secret)
        finally:
            self._slots.release()

    async def _decoy_hash(self) -> str:
        """A hash of a random secret, made once (a flood of unknown principals must not make one each)."""
        async with self._decoy_made:
            if self._decoy is None:
                self._decoy = await anyio.to_thread.run_sync(hash_secret, new_token())
            return self._decoy


__all__ = ["Attempt", "AuthGuard"]
