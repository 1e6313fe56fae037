from __future__ import annotations

import anyio

from headwater.settings import Settings
from headwater.store import migrate


async def test_migrations_produce_the_models(settings: Settings) -> None:
    await anyio.to_thread.run_sync(migrate.upgrade, settings.database_url)
    differences = await anyio.to_thread.run_sync(migrate.pending_differences, settings.database_url)
    assert differences == []


async def test_migrating_twice_changes_nothing(settings: Settings) -> None:
    await anyio.to_thread.run_sync(migrate.upgrade, settings.database_url)
    await anyio.to_thread.run_sync(migrate.upgrade, settings.database_url)
    differences = await anyio.to_thread.run_sync(migrate.pending_differences, settings.database_url)
    assert differences == []
