"""The database lifecycle: one async engine per process, built from settings, disposed at shutdown."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from headwater.errors import StoreBusy

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


def secure_sqlite_file(url: str) -> None:
    """Make the SQLite store (and its WAL/SHM files, if any) readable and writable by its owner alone.

    SQLite gives the WAL and SHM files the mode of the database file, so a store created here at 0600
    keeps them at 0600 too; an existing store is brought down to 0600.
    """
    parsed = make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:" or name.startswith("file:"):
        return
    store = Path(name)
    if not store.parent.is_dir():
        return  # SQLite itself says it cannot open the file
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
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.dialect == "sqlite":
            secure_sqlite_file(url)
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose work is committed on success and rolled back on any error. SQLite's
        "database is locked" (another writer held on past the busy timeout) comes out as ``StoreBusy``."""
        try:
            async with self.sessions() as session, session.begin():
                yield session
        except OperationalError as exc:
            if "database is locked" in str(exc.orig):
                raise StoreBusy from exc
            raise

    async def dispose(self) -> None:
        await self.engine.dispose()
