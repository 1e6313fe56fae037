"""Whether a process that serves the APIs has a SQLite store open.

An import in a process of its own (``headwater run``) writes a SQLite store in small pieces and leaves
its one writer free between them, because the API's writers of a serving process wait for it in SQLite's
busy handler (``ingest.pipeline``). With nobody serving that store, both only slow the import down. So a
serving process holds a shared lock on a file beside the store (``<store>-serving``) for as long as it
serves, and an import asks whether it could take that lock whole, letting it go at once.

The lock is ``flock`` on a file of its own, never on the store: closing any descriptor of the store's
file would drop the POSIX locks SQLite holds on it in this process. The kernel drops a process's lock
when it ends, however it ends, so a serving process that was killed is not taken for one still serving.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

SUFFIX = "-serving"


class ServingPresence:
    def __init__(self, store: Path) -> None:
        self.path = Path(f"{store}{SUFFIX}")

    def _open(self) -> int:
        # Only its owner reads or writes it, like the store beside it (``secure_sqlite_file``).
        return os.open(self.path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Mark the store as served while the block runs. Waits out an importer's instant of asking."""
        descriptor = self._open()
        try:
            await anyio.to_thread.run_sync(fcntl.flock, descriptor, fcntl.LOCK_SH)
            yield
        finally:
            os.close(descriptor)  # the lock goes with it

    def served(self) -> bool:
        """Whether some process serves the store now, this one included. A store this process cannot
        open the mark of counts as served: an import then leaves room it did not need to, nothing worse."""
        try:
            descriptor = self._open()
        except OSError:
            return True
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: a serving process holds it
            return True
        finally:
            os.close(descriptor)
        return False
