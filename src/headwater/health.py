"""Is this process able to serve? What ``/readyz`` answers, as plain async Python."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
from sqlalchemy import text

from headwater.logging import get_logger
from headwater.runtime import Runtime

if TYPE_CHECKING:
    from headwater.ingest.jobs.queue_health import QueueHealth

log = get_logger(__name__)

CHECK_TIMEOUT = 2.0  # seconds: a load balancer's probe must not hang on a dead dependency


@dataclass(frozen=True)
class Readiness:
    database: bool
    # None when no Redis is configured (embedded mode's in-memory rate limits).
    redis: bool | None
    # None in embedded mode. A stalled queue does not make the process unready (it can still serve):
    # it is said plainly so that an operator starts a worker.
    queue: QueueHealth | None = None

    @property
    def ready(self) -> bool:
        return self.database and self.redis is not False

    def as_dict(self) -> dict[str, object]:
        def shown(ok: bool | None) -> str:
            return "not configured" if ok is None else "ok" if ok else "unreachable"

        answer: dict[str, object] = {
            "status": "ready" if self.ready else "unavailable",
            "checks": {"database": shown(self.database), "redis": shown(self.redis)},
        }
        if self.queue is not None:
            answer["queue"] = self.queue.as_dict()
        return answer


async def _database_reachable(runtime: Runtime) -> bool:
    try:
        with anyio.fail_after(CHECK_TIMEOUT):
            async with runtime.db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        return True
    except Exception as exc:  # any driver or timeout error means "not ready"; the reason goes to the log
        log.warning("readiness: database unreachable", error=type(exc).__name__)
        return False


async def _redis_reachable(runtime: Runtime) -> bool | None:
    if not runtime.settings.redis_url:
        return None
    try:
        with anyio.fail_after(CHECK_TIMEOUT):
            return await runtime.limiter.reachable()
    except Exception as exc:
        log.warning("readiness: redis unreachable", error=type(exc).__name__)
        return False


async def _queue(runtime: Runtime, database: bool) -> QueueHealth | None:
    if not database or not runtime.settings.distributed:
        return None  # embedded mode has no queue, and keeps the job queue's library out of its process
    from headwater.ingest.jobs.queue_health import queue_health

    try:
        with anyio.fail_after(CHECK_TIMEOUT):
            return await queue_health(runtime)
    except Exception as exc:
        log.warning("readiness: queue state unknown", error=type(exc).__name__)
        return None


async def readiness(runtime: Runtime) -> Readiness:
    database = await _database_reachable(runtime)
    return Readiness(
        database=database, redis=await _redis_reachable(runtime), queue=await _queue(runtime, database)
    )
