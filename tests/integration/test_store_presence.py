"""A process serving the APIs marks its SQLite store as served, for imports in processes of their own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from headwater.settings import Settings
from headwater.store.database import Database
from headwater.store.presence import ServingPresence
from tests.conftest import running_app


def store_of(settings: Settings) -> Path:
    return Path(str(settings.database_url).split("///", 1)[1])


async def test_a_serving_app_marks_its_sqlite_store_as_served_until_it_stops(
    sqlite_settings: Settings,
) -> None:
    importer = Database(str(sqlite_settings.database_url))
    try:
        async with running_app(sqlite_settings):
            while_served = importer.may_be_served()
        after = importer.may_be_served()
    finally:
        await importer.dispose()

    assert (while_served, after) == (True, False)


async def test_the_mark_beside_the_store_is_its_owners_alone(sqlite_settings: Settings) -> None:
    async with running_app(sqlite_settings):
        mode = Path(f"{store_of(sqlite_settings)}-serving").stat().st_mode & 0o777

    assert mode == 0o600


def test_a_serving_process_that_was_killed_no_longer_counts_as_serving(tmp_path: Path) -> None:
    store = tmp_path / "headwater.db"
    holder = textwrap.dedent(
        f"""
        import anyio, sys
        from pathlib import Path
        from headwater.store.presence import ServingPresence

        async def main():
            async with ServingPresence(Path({str(store)!r})).held():
                print("held", flush=True)
                await anyio.sleep(3600)

        anyio.run(main)
        """
    )
    with subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout is not None and child.stdout.readline() == "held\n"
            while_alive = ServingPresence(store).served()
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)

    assert (while_alive, ServingPresence(store).served()) == (True, False)


async def test_a_store_no_other_process_can_be_asked_about_counts_as_served(tmp_path: Path) -> None:
    for url in (
        "sqlite+aiosqlite:///:memory:",
        f"sqlite+aiosqlite:///file:{tmp_path / 'x.db'}?mode=rwc&uri=true",
    ):
        database = Database(url)
        try:
            assert database.presence is None and database.may_be_served()
        finally:
            await database.dispose()


async def test_a_store_named_through_a_link_finds_the_same_mark(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    async with running_app(sqlite_settings):
        linked = tmp_path / "elsewhere" / "linked.db"
        linked.parent.mkdir()
        linked.symlink_to(store_of(sqlite_settings))
        importer = Database(f"sqlite+aiosqlite:///{linked}")
        try:
            while_served = importer.may_be_served()
        finally:
            await importer.dispose()

    assert while_served
