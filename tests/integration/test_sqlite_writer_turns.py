"""SQLite writers of one process take the database's one writer in turn, first come first served."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from sqlalchemy import insert, select, text

from headwater.clock import utcnow
from headwater.errors import StoreBusy
from headwater.store import migrate
from headwater.store.database import Database
from headwater.store.tables import Tenant
from headwater.store.writer_turns import WriterTurns


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}"
    await anyio.to_thread.run_sync(migrate.upgrade, url)
    opened = Database(url)
    yield opened
    await opened.dispose()


def _tenant(name: str) -> object:
    return insert(Tenant).values(name=name, created_at=utcnow())


async def _waiting(turns: WriterTurns, count: int) -> None:
    with anyio.fail_after(30):
        while turns.waiting < count:
            await anyio.sleep(0)


async def test_writers_get_the_writer_in_the_order_they_asked(db: Database) -> None:
    assert db.writer_turns is not None
    first_holds = anyio.Event()
    first_may_commit = anyio.Event()

    async def first() -> None:
        async with db.session() as session:
            await session.execute(_tenant("first"))
            first_holds.set()
            await first_may_commit.wait()

    async def writer(name: str) -> None:
        async with db.session() as session:
            await session.execute(_tenant(name))

    names = [f"writer {n}" for n in range(8)]
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(first)
        await first_holds.wait()
        for position, name in enumerate(names, start=1):
            tasks.start_soon(writer, name)
            await _waiting(db.writer_turns, position)
        first_may_commit.set()

    async with db.reading() as session:
        in_order_written = (await session.scalars(select(Tenant.name).order_by(Tenant.id))).all()
    assert in_order_written == ["first", *names]


async def test_reading_needs_no_turn_while_a_writer_holds_it(db: Database) -> None:
    async with db.session() as session:
        await session.execute(_tenant("committed"))
    async with db.session() as writing:
        await writing.execute(_tenant("pending"))
        async with db.reading() as reading:
            assert (await reading.scalars(select(Tenant.name))).all() == ["committed"]
        async with db.session() as other:
            assert (await other.scalars(select(Tenant.name))).all() == ["committed"]


async def test_a_turn_ends_with_a_rollback(db: Database) -> None:
    with pytest.raises(LookupError):
        async with db.session() as session:
            await session.execute(_tenant("rolled back"))
            raise LookupError
    with anyio.fail_after(10):
        async with db.session() as session:
            await session.execute(_tenant("next"))
    async with db.reading() as session:
        assert (await session.scalars(select(Tenant.name))).all() == ["next"]


async def test_a_turn_ends_with_a_failed_statement(db: Database) -> None:
    with pytest.raises(Exception, match="no such table"):
        async with db.session() as session:
            await session.execute(_tenant("before"))
            await session.execute(text("INSERT INTO no_such_table VALUES (1)"))
    with anyio.fail_after(10):
        async with db.session() as session:
            await session.execute(_tenant("after"))


async def test_a_writer_that_waits_longer_than_the_store_waits_is_told_the_store_is_busy(
    db: Database,
) -> None:
    assert db.writer_turns is not None
    db.writer_turns.timeout = 0.05
    async with db.session() as holding:
        await holding.execute(_tenant("holding"))
        with pytest.raises(StoreBusy):
            async with db.session() as waiting:
                await waiting.execute(_tenant("waiting"))
    assert db.writer_turns.waiting == 0
    async with db.session() as session:
        await session.execute(_tenant("later"))
    async with db.reading() as session:
        assert sorted((await session.scalars(select(Tenant.name))).all()) == ["holding", "later"]


async def test_many_writers_at_once_all_commit(db: Database) -> None:
    async def writer(n: int) -> None:
        async with db.session() as session:
            await session.execute(_tenant(f"tenant {n}"))
            await session.execute(text("SELECT count(*) FROM tenants"))

    async with anyio.create_task_group() as tasks:
        for n in range(60):
            tasks.start_soon(writer, n)
    async with db.reading() as session:
        assert len((await session.scalars(select(Tenant.id))).all()) == 60


async def test_writers_cancelled_while_waiting_or_holding_a_turn_pass_it_on(db: Database) -> None:
    assert db.writer_turns is not None
    holding = anyio.Event()

    async def write(name: str, *, hold: bool = False) -> None:
        async with db.session() as session:
            await session.execute(_tenant(name))
            if hold:
                holding.set()
                await anyio.sleep_forever()

    async with anyio.create_task_group() as holder:
        holder.start_soon(lambda: write("held then cancelled", hold=True))
        await holding.wait()
        async with anyio.create_task_group() as waiters:
            waiters.start_soon(write, "waiting then cancelled")
            await _waiting(db.writer_turns, 1)
            waiters.cancel_scope.cancel()
        holder.cancel_scope.cancel()

    assert db.writer_turns.waiting == 0
    with anyio.fail_after(10):
        async with db.session() as session:
            await session.execute(_tenant("after"))
    async with db.reading() as session:
        assert (await session.scalars(select(Tenant.name))).all() == ["after"]
