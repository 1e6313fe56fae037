"""Sending the outbox: at least once, retried with backoff, logged per attempt.

Every process that works imports runs a ``DeliveryLoop``: the embedded runner on SQLite, each
procrastinate worker on PostgreSQL. A loop leases due deliveries (``leased_until``) before sending
them, so two processes never send one at the same time; a process killed mid-delivery leaves its
lease to run out (on SQLite, the next start releases it at once) and the delivery is sent again. Every
attempt of one event carries the event's ``webhook-id``, so a receiver can drop what it already has.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from headwater import metrics
from headwater.clock import as_utc, iso_millis, utcnow
from headwater.errors import NotFound
from headwater.logging import get_logger
from headwater.runtime import Runtime
from headwater.store import webhooks as webhook_store
from headwater.store.tables import WebhookAttempt, WebhookDelivery, WebhookEvent
from headwater.webhooks import outbox, signing
from headwater.webhooks.client import AttemptResult, WebhookClient

log = get_logger(__name__)

# Retries are never further apart than this, however many failed before.
MAX_RETRY_DELAY = 3600.0
# How long past its timeout a leased delivery stays another process's before it is taken again.
LEASE_MARGIN = 30.0
# The oldest-pending gauge is refreshed this often at most.
GAUGE_EVERY = 10.0
# Finished deliveries older than HEADWATER_WEBHOOK_LOG_DAYS are forgotten this often, a batch at a time
# so that no transaction holds the tables for long.
PRUNE_EVERY = 3600.0
PRUNE_BATCH = 1000


def retry_delay(base: float, attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones: doubling from ``base``, capped,
    with jitter so that endpoints coming back are not all hit at the same moment."""
    delay: float = min(base * 2.0 ** max(attempts - 1, 0), MAX_RETRY_DELAY)
    return delay * random.uniform(0.8, 1.2)


def _lease(runtime: Runtime) -> timedelta:
    return timedelta(seconds=runtime.settings.webhook_timeout + LEASE_MARGIN)


async def _record_attempt(
    runtime: Runtime, due: webhook_store.DueDelivery, at: datetime, result: AttemptResult
) -> None:
    settings = runtime.settings
    now = utcnow()
    async with runtime.db.session() as session:
        delivery = await webhook_store.get_delivery_by_id(session, due.delivery_id)
        endpoint = await webhook_store.get_endpoint_by_id(session, due.endpoint_id)
        if delivery is None or endpoint is None:
            return  # the endpoint was deleted meanwhile
        delivery.attempts += 1
        delivery.leased_until = None
        await webhook_store.add_attempt(
            session,
            WebhookAttempt(
                tenant_id=delivery.tenant_id,
                delivery_id=delivery.id,
                attempt=delivery.attempts,
                attempted_at=at,
                status_code=result.status_code,
                latency_ms=result.latency_ms,
                response=result.response,
                error=result.error,
            ),
        )
        metrics.count_webhook_attempt(result.result)
        if result.ok:
            delivery.state = webhook_store.DELIVERED
            delivery.delivered_at = now
            endpoint.failing_since = None
            metrics.count_webhook_delivery("delivered")
            return
        queued_at = as_utc(delivery.queued_at)
        next_at = now + timedelta(seconds=retry_delay(settings.webhook_retry_base, delivery.attempts))
        gave_up = next_at > queued_at + timedelta(seconds=settings.webhook_retry_window)
        if gave_up:
            delivery.state = webhook_store.FAILED
            metrics.count_webhook_delivery("failed")
            log.warning("webhook delivery given up", delivery_id=delivery.id, attempts=delivery.attempts)
        else:
            delivery.next_attempt_at = next_at
        failing_since = as_utc(endpoint.failing_since) if endpoint.failing_since else at
        endpoint.failing_since = failing_since
        # Failing for disable-after, or for the whole retry window of a delivery just given up (its last
        # retry comes a little before the window ends: without this an endpoint that rarely gets an
        # event would never be turned off).
        failed_throughout = now - failing_since >= timedelta(seconds=settings.webhook_disable_after)
        if not failed_throughout and gave_up and endpoint.active:
            first = await webhook_store.first_attempt_at(session, delivery.id)
            failed_throughout = first is not None and failing_since <= as_utc(first)
        if endpoint.active and failed_throughout:
            endpoint.active = False
            endpoint.disabled_reason = (
                f"turned off at {iso_millis(now)}: every delivery failed since {iso_millis(failing_since)}; "
                f"the last one: {result.error}"
            )
            endpoint.updated_at = now
            log.warning("webhook endpoint turned off", endpoint_id=endpoint.id, tenant_id=endpoint.tenant_id)


async def attempt(runtime: Runtime, client: WebhookClient, due: webhook_store.DueDelivery) -> AttemptResult:
    """Sign and send one leased delivery, then log the attempt and decide what comes next."""
    at = utcnow()
    headers = signing.signed_headers(runtime.box.decrypt(due.secret_enc), due.message_id, at, due.payload)
    result = await client.post(due.url, due.payload, headers)
    await _record_attempt(runtime, due, at, result)
    return result


async def lease_due(runtime: Runtime, limit: int) -> list[webhook_store.DueDelivery]:
    async with runtime.db.session() as session:
        return await webhook_store.lease_due(session, utcnow(), _lease(runtime), limit)


async def deliver_due(runtime: Runtime, client: WebhookClient, *, limit: int = 100) -> int:
    """Send what is due now, all at once (for commands and tests); the number of attempts made."""
    due = await lease_due(runtime, limit)
    await asyncio.gather(*(attempt(runtime, client, one) for one in due))
    return len(due)


async def prune_log(runtime: Runtime) -> int:
    """Forget the events whose deliveries all ended more than the log's days ago; returns how many."""
    before = utcnow() - timedelta(days=runtime.settings.webhook_log_days)
    forgotten = 0
    while True:
        async with runtime.db.session() as session:
            batch = await webhook_store.prune_finished(session, before, PRUNE_BATCH)
        forgotten += batch
        if batch < PRUNE_BATCH:
            return forgotten


async def redeliver(
    session: AsyncSession, tenant_id: int, delivery_id: int, *, endpoint_id: int | None = None
) -> WebhookDelivery:
    """Send a delivery (of the endpoint ``endpoint_id``, if given) again now, whatever became of it, with
    a fresh retry window. It carries the same ``webhook-id`` as before."""
    delivery = await webhook_store.get_delivery(session, tenant_id, delivery_id)
    if endpoint_id is not None and delivery.endpoint_id != endpoint_id:
        raise NotFound("WebhookDelivery", delivery_id)
    now = utcnow()
    delivery.state = webhook_store.PENDING
    delivery.next_attempt_at = now
    delivery.queued_at = now
    delivery.leased_until = None
    delivery.delivered_at = None
    await session.flush()
    outbox.wake_after_commit(session)
    return delivery


def delivery_json(
    delivery: WebhookDelivery, event: WebhookEvent, attempts: list[WebhookAttempt]
) -> dict[str, Any]:
    """A delivery and its log (times as datetimes; each dialect formats them)."""
    return {
        "id": delivery.id,
        "endpointId": delivery.endpoint_id,
        "eventId": event.message_id,
        "eventType": event.type,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "nextAttemptAt": delivery.next_attempt_at if delivery.state == webhook_store.PENDING else None,
        "deliveredAt": delivery.delivered_at,
        "createdAt": delivery.created_at,
        "log": [
            {
                "attempt": a.attempt,
                "attemptedAt": a.attempted_at,
                "statusCode": a.status_code,
                "latencyMs": a.latency_ms,
                "response": a.response,
                "error": a.error,
            }
            for a in attempts
        ],
    }


async def list_deliveries(
    session: AsyncSession, tenant_id: int, endpoint_id: int, *, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    await webhook_store.get_endpoint(session, tenant_id, endpoint_id)
    found = await webhook_store.list_deliveries(session, tenant_id, endpoint_id, limit=limit, offset=offset)
    logs = await webhook_store.attempts_of(session, tenant_id, [delivery.id for delivery, _ in found])
    return [delivery_json(delivery, event, logs[delivery.id]) for delivery, event in found]


class DeliveryLoop:
    """Keeps up to ``webhook_concurrency`` deliveries under way; woken when events commit in this
    process, else looks for due ones every ``tick`` seconds (retries, other processes' events)."""

    def __init__(self, runtime: Runtime, *, release_leases: bool, tick: float = 1.0) -> None:
        self.runtime = runtime
        self._release_leases = release_leases
        self._tick = tick
        self._concurrency = runtime.settings.webhook_concurrency
        self._client = WebhookClient(runtime.settings)
        self._inflight: set[asyncio.Task[Any]] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gauge_at = 0.0
        self._pruned_at: float | None = None
        self._stopping = False

    async def start(self) -> None:
        if self._release_leases:
            async with self.runtime.db.session() as session:
                released = await webhook_store.release_leases(session)
            if released:
                log.info("webhook deliveries of a stopped process taken up again", count=released)
        self._loop = asyncio.get_running_loop()
        outbox.wake_on_commit(self._loop, self._wake)
        self._task = asyncio.create_task(self._run(), name="headwater-webhooks")

    async def stop(self, grace: float = 2.0) -> None:
        """Take nothing more; let attempts under way end for ``grace`` seconds, then abandon them
        (their lease runs out and they are sent again)."""
        if self._loop is not None:
            outbox.stop_waking(self._loop, self._wake)
        self._stopping = True
        self._wake.set()
        pending = [task for task in (self._task, *self._inflight) if task is not None]
        if pending:
            _done, late = await asyncio.wait(pending, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self._task = None
        await self._client.aclose()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            free = self._concurrency - len(self._inflight)
            taken = 0
            if self._stopping:
                return
            if free > 0:
                try:
                    due = await lease_due(self.runtime, free)
                    taken = len(due)
                    for one in due:
                        task = asyncio.create_task(self._send(one))
                        self._inflight.add(task)
                    await self._refresh_gauge()
                except Exception:
                    log.error("taking due webhook deliveries failed", exc_info=True)
            await self._prune()
            if taken and taken == free:
                # Maybe more is due: look again as soon as a slot frees.
                await self._wait(None)
            else:
                await self._wait(self._tick)

    async def _wait(self, timeout: float | None) -> None:
        # Not ``wait_for``: on Python 3.11 it returns, instead of raising, when the task is cancelled as
        # the event is set, and this loop then went on past its own cancellation for good.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    async def _send(self, due: webhook_store.DueDelivery) -> None:
        try:
            await attempt(self.runtime, self._client, due)
        except Exception:
            log.error("webhook delivery attempt failed", delivery_id=due.delivery_id, exc_info=True)
        finally:
            task = asyncio.current_task()
            if task is not None:
                self._inflight.discard(task)
            self._wake.set()

    async def _prune(self) -> None:
        loop_time = asyncio.get_running_loop().time()
        if self._pruned_at is not None and loop_time - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = loop_time
        try:
            forgotten = await prune_log(self.runtime)
        except Exception:
            log.error("forgetting old webhook deliveries failed", exc_info=True)
            return
        if forgotten:
            log.info("old webhook deliveries forgotten", events=forgotten)

    async def _refresh_gauge(self) -> None:
        loop_time = asyncio.get_running_loop().time()
        if loop_time - self._gauge_at < GAUGE_EVERY:
            return
        self._gauge_at = loop_time
        async with self.runtime.db.session() as session:
            oldest = await webhook_store.oldest_pending(session)
        metrics.set_webhook_oldest_pending(
            0.0 if oldest is None else (utcnow() - as_utc(oldest)).total_seconds()
        )
