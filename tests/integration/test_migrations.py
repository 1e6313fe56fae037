from __future__ import annotations

import anyio
from alembic.script import ScriptDirectory

from headwater.settings import Settings
from headwater.store import migrate
from tests.support.processes import libraries_loaded_by


async def test_migrations_produce_the_models(settings: Settings) -> None:
    await anyio.to_thread.run_sync(migrate.upgrade, settings.database_url)
    differences = await anyio.to_thread.run_sync(migrate.pending_differences, settings.database_url)
    assert differences == []


async def test_migrating_twice_changes_nothing(settings: Settings) -> None:
    await anyio.to_thread.run_sync(migrate.upgrade, settings.database_url)
    await anyio.to_thread.run_sync(migrate.upgrade, settings.database_url)
    differences = await anyio.to_thread.run_sync(migrate.pending_differences, settings.database_url)
    assert differences == []


def test_the_head_a_migrated_store_is_checked_against_is_alembics_own() -> None:
    scripts = ScriptDirectory.from_config(migrate.alembic_config("sqlite:///:memory:"))

    assert scripts.get_heads() == [migrate.HEAD]


async def test_a_store_at_the_head_is_left_alone_and_one_behind_is_brought_up(settings: Settings) -> None:
    await anyio.to_thread.run_sync(migrate.upgrade, settings.database_url, "0009_record_keys")
    await anyio.to_thread.run_sync(migrate.upgrade, settings.database_url)
    differences = await anyio.to_thread.run_sync(migrate.pending_differences, settings.database_url)

    assert differences == []


def test_a_process_opening_a_store_at_the_head_never_loads_alembic(sqlite_settings: Settings) -> None:
    url = str(sqlite_settings.database_url)
    migrate.upgrade(url)
    opened = f"""
        from headwater.runtime import prepare_store
        prepare_store({url!r})
        """

    assert libraries_loaded_by(opened, ("alembic",)) == []
