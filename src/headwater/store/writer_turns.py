"""SQLite's one writer, taken in turn by the connections of this process.

SQLite lets one connection write at a time; the others wait in its busy handler, which sleeps and tries
again at growing intervals of up to 100 ms. Under many writers that handler is unfair: a connection that
has waited long sleeps 100 ms at a time while newcomers, trying every millisecond, take the writer
before it, so a few requests wait seconds while most wait none. Here each connection of the process
that is about to write waits for its turn first, first come first served, and holds it until its
transaction ends; only the connection whose turn it is meets SQLite's lock, and then only when another
process (a ``headwater run`` importing, a command of the CLI) holds it.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, ExecutionContext
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from headwater.errors import StoreBusy

# The key, in a pooled connection's ``info``, of the turn it holds.
_HELD = "headwater_writer_turn"
# Statements that make SQLite's driver take the writer, by their first word, for text a caller wrote
# itself; a compiled statement says what it is.
_WRITING_WORDS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER"})


def _writes(statement: str, context: ExecutionContext | None) -> bool:
    if isinstance(context, DefaultExecutionContext) and not context.is_text:
        return bool(context.isinsert or context.isupdate or context.isdelete or context.isddl)
    first = statement.lstrip().split(None, 1)
    return bool(first) and first[0].upper() in _WRITING_WORDS


class WriterTurns:
    """Turns at SQLite's writer for one engine's connections, in the order they asked."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        # Connections of this process waiting for their turn now.
        self.waiting = 0
        # One queue per event loop: a lock belongs to the loop it first waited in.
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def attach(self, engine: AsyncEngine) -> None:
        sync_engine = engine.sync_engine
        event.listen(sync_engine, "before_cursor_execute", self._before_execute)
        event.listen(sync_engine, "commit", self._transaction_ended)
        event.listen(sync_engine, "rollback", self._transaction_ended)
        # A connection returned, closed or invalidated in the middle of a transaction ends it too.
        event.listen(sync_engine.pool, "checkin", self._returned)
        event.listen(sync_engine.pool, "close", self._returned)
        event.listen(sync_engine.pool, "invalidate", self._invalidated)

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def _take(self, lock: asyncio.Lock) -> None:
        self.waiting += 1
        try:
            # A timeout cancels the acquire itself, which hands on a turn granted in the same instant;
            # ``wait_for`` on Python 3.11 could drop such a turn, and with it every later writer's.
            async with asyncio.timeout(self.timeout):
                await lock.acquire()
        except TimeoutError as exc:
            raise StoreBusy from exc
        finally:
            self.waiting -= 1

    def _before_execute(
        self,
        connection: Connection,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        context: ExecutionContext | None,
        _executemany: bool,
    ) -> None:
        info = connection.info
        if _HELD in info or not _writes(statement, context):
            return
        lock = self._lock()
        await_only(self._take(lock))
        info[_HELD] = lock

    @staticmethod
    def _release(info: dict[Any, Any]) -> None:
        lock = info.pop(_HELD, None)
        if lock is not None:
            lock.release()

    def _transaction_ended(self, connection: Connection) -> None:
        # An invalidated connection (its statement was interrupted, by a cancellation say) raises when
        # its info is read, and that error would replace the interruption; ``_invalidated`` has
        # already passed its turn on.
        if connection.invalidated:
            return
        self._release(connection.info)

    def _returned(self, _dbapi_connection: Any, record: Any) -> None:
        self._release(record.info)

    def _invalidated(self, _dbapi_connection: Any, record: Any, _exception: BaseException | None) -> None:
        self._release(record.info)
