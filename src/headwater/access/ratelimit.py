"""Request budgets, counted by the ``limits`` package: in memory, or in Redis shared by every process."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from headwater.errors import RateLimited


def storage_uri(redis_url: str | None) -> str:
    if not redis_url:
        return "async+memory://"
    return "async+" + redis_url if not redis_url.startswith("async+") else redis_url


class RateLimiter:
    def __init__(self, redis_url: str | None = None) -> None:
        storage = storage_from_string(storage_uri(redis_url))
        assert isinstance(storage, Storage)  # the async+ scheme always gives an async storage
        self.storage = storage
        self._strategy = MovingWindowRateLimiter(self.storage)

    async def check(self, namespace: str, key: str, items: Sequence[RateLimitItem]) -> None:
        """Count one request against every limit; raise ``RateLimited`` when any is spent.

        A refused request is not counted, so a client that waits for ``Retry-After`` gets through.
        """
        for item in items:
            if not await self._strategy.test(item, namespace, key):
                raise await self._refusal(item, namespace, key)
        # Between test() and hit() concurrent requests (other processes too) may take the last places,
        # and only hit() counts atomically. When it refuses, test() again tells a full window (refuse)
        # from the instant a request leaves it, where the two disagree by a boundary (let it through).
        for item in items:
            if not await self._strategy.hit(item, namespace, key) and not await self._strategy.test(
                item, namespace, key
            ):
                raise await self._refusal(item, namespace, key)

    async def _refusal(self, item: RateLimitItem, namespace: str, key: str) -> RateLimited:
        reset_at, _remaining = await self._strategy.get_window_stats(item, namespace, key)
        return RateLimited(max(1, math.ceil(reset_at - time.time())))

    async def reachable(self) -> bool:
        return bool(await self.storage.check())

    async def close(self) -> None:
        reset = getattr(self.storage, "close", None)
        if reset is not None:
            await reset()
        # The Redis storage of ``limits`` has no close of its own: release its client's connections.
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        pool = getattr(client, "connection_pool", None)
        if pool is not None:
            pool.disconnect()


def limit(text: str) -> RateLimitItem:
    """``"200/second"`` and the like, in the ``limits`` notation."""
    return parse(text)
