"""The store's sessions: reads that refuse to write, and pooled connections that survive the server
closing them while idle."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import psycopg
import pytest
from sqlalchemy import func, insert, select

from headwater.clock import utcnow
from headwater.store import database, migrate
from headwater.store.database import Database
from headwater.store.tables import Tenant
from tests.support.records import add_tenant


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await anyio.to_thread.run_sync(migrate.upgrade, database_url)
    opened = Database(database_url)
    yield opened
    await opened.dispose()


async def test_a_reading_session_sees_what_was_committed(db: Database) -> None:
    async with db.session() as session:
        await add_tenant(session, "acme")
    async with db.reading() as session:
        assert await session.scalar(select(Tenant.name)) == "acme"


async def test_a_reading_session_refuses_to_write(db: Database) -> None:
    with pytest.raises(RuntimeError, match="SELECT statements only"):
        async with db.reading() as session:
            await session.execute(insert(Tenant).values(name="by statement", created_at=utcnow()))
    with pytest.raises(RuntimeError, match="does not write"):
        async with db.reading() as session:
            session.add(Tenant(name="by flush", created_at=utcnow()))
    async with db.session() as session:
        assert (await session.scalars(select(Tenant.name))).all() == []


@pytest.mark.postgres
async def test_a_connection_closed_by_the_server_while_idle_is_replaced(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
    db = Database(postgres_url)
    try:
        async with db.reading() as session:
            backend = await session.scalar(select(func.pg_backend_pid()))
        with psycopg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        async with db.reading() as session:
            assert await session.scalar(select(func.pg_backend_pid())) != backend
    finally:
        await db.dispose()
