"""Is anyone working the queue? Runs that wait while no worker takes them are said plainly, in
``/readyz`` and ``headwater status``, instead of staying queued forever without a word."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from headwater.ingest.jobs.queue import QUEUE
from headwater.runtime import Runtime
from headwater.store.queue_schema import QUEUE_SCHEMA

STALL_AFTER = 120.0  # seconds a due run may wait before the queue counts as unattended
WORKER_SEEN_WITHIN = 60.0  # seconds since a worker's last heartbeat for it to count as alive

_HEALTH = text(
    f"""
    SELECT
        (SELECT count(*) FROM {QUEUE_SCHEMA}.procrastinate_jobs j
          WHERE j.queue_name = :queue AND j.status = 'todo'
            AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())) AS waiting,
        (SELECT EXTRACT(EPOCH FROM now() - min(since)) FROM (
            SELECT (SELECT max(e.at) FROM {QUEUE_SCHEMA}.procrastinate_events e WHERE e.job_id = j.id)
                   AS since
              FROM {QUEUE_SCHEMA}.procrastinate_jobs j
             WHERE j.queue_name = :queue AND j.status = 'todo'
               AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())) AS due) AS oldest_wait,
        (SELECT count(*) FROM {QUEUE_SCHEMA}.procrastinate_workers
          WHERE last_heartbeat > now() - make_interval(secs => :seen)) AS workers
    """
)


@dataclass(frozen=True)
class QueueHealth:
    waiting: int  # runs due now that no worker has taken
    oldest_wait: float | None  # seconds the longest of them has waited
    workers: int  # workers that beat within the last minute

    @property
    def stalled(self) -> bool:
        return self.waiting > 0 and (self.oldest_wait or 0.0) > STALL_AFTER

    @property
    def message(self) -> str:
        if self.stalled:
            return (
                f"{self.waiting} run(s) wait and no worker has taken one for more than "
                f"{int(STALL_AFTER // 60)} minutes ({self.workers} worker(s) seen): start `headwater worker`, "
                "or `headwater serve` with --worker-concurrency above 0"
            )
        return f"{self.waiting} run(s) waiting, {self.workers} worker(s) seen"

    def as_dict(self) -> dict[str, object]:
        return {
            "status": "stalled" if self.stalled else "ok",
            "waiting": self.waiting,
            "oldestWaitSeconds": None if self.oldest_wait is None else round(self.oldest_wait, 1),
            "workers": self.workers,
            "message": self.message,
        }


async def queue_health(runtime: Runtime) -> QueueHealth | None:
    """The queue's state, or None in embedded mode (runs happen in the serving process itself)."""
    if not runtime.settings.distributed:
        return None
    try:
        async with runtime.db.session() as session:
            row = (await session.execute(_HEALTH, {"queue": QUEUE, "seen": WORKER_SEEN_WITHIN})).one()
    except DBAPIError:
        return None  # the queue's schema is not there yet: nothing was ever queued
    return QueueHealth(
        waiting=int(row.waiting),
        oldest_wait=None if row.oldest_wait is None else float(row.oldest_wait),
        workers=int(row.workers),
    )
