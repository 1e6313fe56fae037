"""The webhook delivery loop ends when its task is cancelled, however the cancellation falls."""

from __future__ import annotations

import asyncio
from typing import Any

from headwater.runtime import Runtime
from headwater.webhooks.delivery import DeliveryLoop


def _waiting_in(task: asyncio.Task[Any], name: str) -> bool:
    coroutine: Any = task.get_coro()
    while coroutine is not None:
        if getattr(coroutine, "cr_code", None) is not None and coroutine.cr_code.co_name == name:
            return True
        coroutine = getattr(coroutine, "cr_await", None)
    return False


async def test_a_loop_cancelled_just_as_it_is_woken_ends(runtime: Runtime) -> None:
    loop = DeliveryLoop(runtime, release_leases=False, tick=3600)
    await loop.start()
    task = loop._task
    assert task is not None
    async with asyncio.timeout(30):
        while not _waiting_in(task, "_wait"):
            await asyncio.sleep(0.01)

    # Woken, and cancelled before the loop has run again: both reach it in the same turn.
    loop._wake.set()
    await asyncio.sleep(0)
    task.cancel()
    ended, _ = await asyncio.wait({task}, timeout=10)
    await loop.stop()

    assert task in ended and task.cancelled()
