"""The parts of a running headwater, opened together and closed together."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from sqlalchemy.engine.url import make_url

from headwater.access.auth import AuthCache
from headwater.access.crypto import SecretBox, load_secret_box
from headwater.access.guard import AuthGuard
from headwater.access.ratelimit import RateLimiter
from headwater.ingest.scratch import scratch_directory
from headwater.installation import check_key_fingerprint, require_installation
from headwater.settings import Settings
from headwater.store import migrate, queue_schema
from headwater.store.database import Database

if TYPE_CHECKING:
    from headwater.ingest.jobs.base import JobRunner


@dataclass
class Runtime:
    settings: Settings
    db: Database
    box: SecretBox
    limiter: RateLimiter
    # Set by ``serve`` and ``worker``: where runs requested over the APIs are executed.
    runner: JobRunner | None = None
    # True in the process that serves the APIs (``serving``): on SQLite its requests take the one
    # writer in turn with its imports (``store.writer_turns``), so an import there need not leave the
    # writer free between its transactions for them, as an import in a process of its own does.
    serves_api: bool = False
    # Where downloads and uploads are copied while they are imported (the system's temporary
    # directory for a runtime made by hand; open_runtime gives it one of headwater's own).
    scratch: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    # Partner credentials verified lately (``auth.VerifiedCache``), so argon2 runs once a minute per secret.
    auth_cache: AuthCache = field(default_factory=AuthCache)
    # Connection tests under way (``connection_checks``); made on first use, inside the event loop.
    connection_checks: anyio.CapacityLimiter | None = None
    # Checks of hashed secrets, bounded and throttled; failures counted where the limiter counts.
    guard: AuthGuard = field(init=False)

    def __post_init__(self) -> None:
        self.guard = AuthGuard.from_settings(self.settings, self.limiter.storage)

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        """This process serves the APIs while the block runs; on a SQLite store, imports in processes
        of their own know it (``store.presence``)."""
        self.serves_api = True
        try:
            if self.db.presence is None:
                yield
            else:
                async with self.db.presence.held():
                    yield
        finally:
            self.serves_api = False


def prepare_store(database_url: str) -> None:
    """Bring the store's schema up to date and, on PostgreSQL, create the job queue's tables beside it
    (distributed mode's, in their own schema). Blocking: run it in a thread."""
    migrate.upgrade(database_url)
    if make_url(database_url).get_backend_name() == "postgresql":
        queue_schema.apply_queue_schema(database_url)


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, migrate_first: bool = True, create: bool = True
) -> AsyncIterator[Runtime]:
    """The runtime of ``settings``; with ``create`` false the store and the key must already exist.

    Either way the keys must include the one the store was created with (``installation.py``).
    """
    if not create:
        await anyio.to_thread.run_sync(require_installation, settings)
    box = load_secret_box(settings, create=create)
    if migrate_first:
        await anyio.to_thread.run_sync(prepare_store, settings.database_url)
    db = Database(settings.database_url)
    try:
        await check_key_fingerprint(db, box, settings)
    except BaseException:
        await db.dispose()
        raise
    limiter = RateLimiter(settings.redis_url)
    try:
        with scratch_directory(settings.temp_directory) as scratch:
            yield Runtime(settings=settings, db=db, box=box, limiter=limiter, scratch=scratch)
    finally:
        await limiter.close()
        await db.dispose()
