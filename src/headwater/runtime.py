"""The parts of a running headwater, opened together and closed together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from headwater.crypto import SecretBox, load_secret_box
from headwater.guard import AuthGuard
from headwater.ratelimit import RateLimiter
from headwater.settings import Settings
from headwater.store import migrate
from headwater.store.database import Database

if TYPE_CHECKING:
    from headwater.jobs.base import JobRunner


@dataclass
class Runtime:
    settings: Settings
    db: Database
    box: SecretBox
    limiter: RateLimiter
    # Set by ``serve`` and ``worker``: where runs requested over the APIs are executed.
    runner: JobRunner | None = None
    # Filled by the parts that need them (rate limiters, metrics): name -> object.
    extras: dict[str, Any] = field(default_factory=dict)
    # Checks of hashed secrets, bounded and throttled; failures counted where the limiter counts.
    guard: AuthGuard = field(init=False)

    def __post_init__(self) -> None:
        self.guard = AuthGuard.from_settings(self.settings, self.limiter.storage)


@asynccontextmanager
async def open_runtime(settings: Settings, *, migrate_first: bool = True) -> AsyncIterator[Runtime]:
    box = load_secret_box(settings)
    if migrate_first:
        await anyio.to_thread.run_sync(migrate.upgrade, settings.database_url)
    db = Database(settings.database_url)
    limiter = RateLimiter(settings.redis_url)
    try:
        yield Runtime(settings=settings, db=db, box=box, limiter=limiter)
    finally:
        await limiter.close()
        await db.dispose()
