"""Checking hashed secrets without letting a flood of wrong ones starve everyone else.

One argon2 verification takes 64 MiB and a core for a good part of a second, so every check of a
hashed secret comes through here:

- at most ``auth_verify_concurrency`` checks run at once in the process, and one client address
  runs one at a time, so a flood from one address leaves the other slots to everyone else; a check
  that cannot start within ``auth_verify_wait`` seconds is refused (``RateLimited``) rather than
  queued without end;
- one client address has at most ``auth_verify_per_address`` attempts under way (reading the hash,
  waiting, checking); more are refused at once, before they take a database connection;
- failures are counted per client address and per principal (``limits``: in Redis when configured,
  shared by every replica, else in memory); past either limit an attempt is refused
  (``TooManyFailures``) before the database is even read.

An attempt takes a ``turn``; within it the caller reads the hash in a short transaction of its own,
then calls ``Turn.verify`` holding no database connection. The client address is the ASGI one: a
proxy's ``X-Forwarded-For`` counts only when the server is told to trust that proxy (uvicorn's
``--proxy-headers`` and ``--forwarded-allow-ips``).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter

from headwater.access.crypto import hash_secret, new_token, verify_secret
from headwater.errors import RateLimited, TooManyFailures
from headwater.settings import Settings

NAMESPACE = "auth-failures"
# A refusal because the checks are busy lasts about as long as a check.
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


@dataclass
class _Address:
    under_way: int = 0
    checking: anyio.Lock = field(default_factory=anyio.Lock)


class Turn:
    """An admitted attempt: check its secret once, and count it as failed when it is."""

    def __init__(self, guard: AuthGuard, attempt: Attempt, address: _Address) -> None:
        self._guard = guard
        self._attempt = attempt
        self._address = address

    async def verify(self, hashed: str | None, secret: str) -> bool:
        """Whether ``secret`` matches ``hashed``, checked in a thread once a slot is free.

        ``hashed`` None (no such principal) checks a decoy instead and answers False, so that an
        unknown principal takes as long as a known one. ``RateLimited`` when no slot frees up in
        time.
        """
        return await self._guard._check(self._address.checking, hashed, secret)

    async def failed(self) -> None:
        await self._guard.failed(self._attempt)


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
        self._addresses: dict[str, _Address] = {}
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

    @property
    def checks_under_way(self) -> int:
        """Secret checks running now (not those waiting for a slot)."""
        return int(self._slots.borrowed_tokens)

    def _counters(self, attempt: Attempt) -> list[tuple[RateLimitItem, str]]:
        counters = [(self._failures_per_address, f"address:{attempt.address}")]
        if attempt.principal is not None:
            # Hashed: principals are caller-chosen text of any shape; the key stays short and plain.
            named = hashlib.sha256(attempt.principal.encode("utf-8", "replace")).hexdigest()[:32]
            counters.append((self._failures_per_principal, f"{attempt.credential}:{named}"))
        return counters

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
    async def turn(self, attempt: Attempt) -> AsyncIterator[Turn]:
        """One attempt, admitted and counted as under way for its address until the block ends.

        ``TooManyFailures`` when the address or the principal has spent its failures;
        ``RateLimited`` when the address already has its share of attempts under way. Both come
        before the caller reads anything.
        """
        await self.admit(attempt)
        address = self._addresses.setdefault(attempt.address, _Address())
        if address.under_way >= self._per_address:
            raise RateLimited(BUSY_RETRY_AFTER)
        address.under_way += 1
        try:
            yield Turn(self, attempt, address)
        finally:
            address.under_way -= 1
            if not address.under_way:
                del self._addresses[attempt.address]

    async def _check(self, checking: anyio.Lock, hashed: str | None, secret: str) -> bool:
        ready = False
        with anyio.move_on_after(self._wait):
            await checking.acquire()
            try:
                await self._slots.acquire()
            except BaseException:
                checking.release()
                raise
            ready = True
        if not ready:
            raise RateLimited(BUSY_RETRY_AFTER)
        try:
            if hashed is None:
                await anyio.to_thread.run_sync(verify_secret, await self._decoy_hash(), secret)
                return False
            return await anyio.to_thread.run_sync(verify_secret, hashed, secret)
        finally:
            self._slots.release()
            checking.release()

    async def _decoy_hash(self) -> str:
        """A hash of a random secret, made once (a flood of unknown principals must not make one each)."""
        async with self._decoy_made:
            if self._decoy is None:
                self._decoy = await anyio.to_thread.run_sync(hash_secret, new_token())
            return self._decoy


__all__ = ["Attempt", "AuthGuard", "Turn"]
