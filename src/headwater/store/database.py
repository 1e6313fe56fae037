"""The database lifecycle: one async engine per process, built from settings, disposed at shutdown."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from headwater.errors import StoreBusy
from headwater.store.presence import ServingPresence
from headwater.store.writer_turns import WriterTurns

# How long a SQLite connection waits for another writer before giving up ("database is locked"). An
# import holds the writer one batch at a time, so waits are short; this bounds the rare long ones.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


# A pooled PostgreSQL connection idle longer than this is pinged before it is handed out, so that one
# the server closed meanwhile (a restart, an idle timeout) is replaced instead of failing a request.
# Pinging every checkout (``pool_pre_ping``) would cost a round trip per transaction; a connection used
# a moment ago was alive a moment ago, and a server that goes away under load is noticed by the pool
# at the first failed statement, which discards every connection made before it.
PING_AFTER_IDLE_SECONDS = 1.0


def _note_idle_since(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(engine: AsyncEngine) -> Any:
    dialect = engine.sync_engine.dialect

    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as exc:  # whatever the driver raises for a dead connection
            raise DisconnectionError("the pooled connection is closed") from exc
        if not alive:
            raise DisconnectionError("the pooled connection is closed")

    return ping


class _ReadingSession(Session):
    """The session of ``Database.reading``: outside a transaction on PostgreSQL, so it must not write."""


@event.listens_for(_ReadingSession, "do_orm_execute")
def _refuse_statement_writes(state: ORMExecuteState) -> None:
    if not state.is_select:
        raise RuntimeError("a reading session runs SELECT statements only")


@event.listens_for(_ReadingSession, "before_flush")
def _refuse_flush_writes(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a reading session does not write")


def sqlite_store_file(url: str) -> Path | None:
    """The file of a SQLite store given by its path; None for other databases, memory or a URI."""
    parsed = make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def secure_sqlite_file(url: str) -> None:
    """Make the SQLite store (and its WAL/SHM files, if any) readable and writable by its owner alone.

    SQLite gives the WAL and SHM files the mode of the database file, so a store created here at 0600
    keeps them at 0600 too; an existing store is brought down to 0600.
    """
    store = sqlite_store_file(url)
    if store is None or not store.parent.is_dir():
        return  # not a file, or SQLite itself says it cannot open it
    os.close(os.open(store, os.O_CREAT | os.O_WRONLY, 0o600))
    for path in (store, Path(f"{store}-wal"), Path(f"{store}-shm"), Path(f"{store}-journal")):
        if path.exists():
            path.chmod(0o600)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        # SQL parameters carry tokens' digests and encrypted secrets: never in logs or exception texts.
        kwargs: dict[str, Any] = {"hide_parameters": True}
        if self.dialect == "postgresql":
            kwargs.update(pool_size=10, max_overflow=20)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        self.writer_turns: WriterTurns | None = None
        store = sqlite_store_file(url)
        # Whether a process serving the APIs has this SQLite store open; None when no other process
        # can be asked (another database, or a store in memory or named by a URI). Resolved, so that
        # processes naming the store by different paths or links find the same mark.
        self.presence = ServingPresence(store.resolve()) if store is not None else None
        if self.dialect == "sqlite":
            secure_sqlite_file(url)
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            self.writer_turns = WriterTurns(SQLITE_BUSY_TIMEOUT_MS / 1000)
            self.writer_turns.attach(self.engine)
        else:
            event.listen(self.engine.sync_engine.pool, "checkin", _note_idle_since)
            event.listen(self.engine.sync_engine.pool, "checkout", _ping_if_idle(self.engine))
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Reads on PostgreSQL go without BEGIN and COMMIT (two round trips fewer); on SQLite, whose
        # driver begins and commits without a round trip, in an ordinary transaction.
        reads = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT") if self.is_postgres else self.engine
        )
        self._reads = async_sessionmaker(reads, expire_on_commit=False, sync_session_class=_ReadingSession)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    def may_be_served(self) -> bool:
        """Whether a process serving the APIs (this one included) may have this SQLite store open:
        true whenever that cannot be told."""
        return self.presence is None or self.presence.served()

    def session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A session whose work is committed on success and rolled back on any error. SQLite's
        "database is locked" (another writer held on past the busy timeout) comes out as ``StoreBusy``."""
        return self._transaction(self.sessions)

    def reading(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A session that only reads: it refuses to write, on every database. On PostgreSQL each
        statement runs on its own, seeing what was committed when it began, as it would inside a READ
        COMMITTED transaction; work that needs one snapshot for several statements takes ``session``."""
        return self._transaction(self._reads)

    @asynccontextmanager
    async def _transaction(self, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
        try:
            async with sessions() as session, session.begin():
                yield session
        except OperationalError as exc:
            if "database is locked" in str(exc.orig):
                raise StoreBusy from exc
            raise

    async def dispose(self) -> None:
        await self.engine.dispose()
