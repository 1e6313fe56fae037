"""Webhook endpoints, the outbox, deliveries and their log. Scoped by tenant, except the queries of the
delivery loop, which serves every tenant (like ``imports.due_sources``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.store.queries import inserted, one_or_not_found
from headwater.store.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


async def add_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return await inserted(session, endpoint)


async def list_endpoints(session: AsyncSession, tenant_id: int) -> Sequence[WebhookEndpoint]:
    return (
        await session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id).order_by(WebhookEndpoint.id)
        )
    ).all()


async def get_endpoint(session: AsyncSession, tenant_id: int, endpoint_id: int) -> WebhookEndpoint:
    return await one_or_not_found(
        session,
        select(WebhookEndpoint).where(
            WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.id == endpoint_id
        ),
        "Webhook",
        endpoint_id,
    )


async def get_endpoint_for_operator(session: AsyncSession, endpoint_id: int) -> WebhookEndpoint:
    """Any tenant's endpoint, by id: for operator commands on the local machine, never for an API."""
    return await one_or_not_found(
        session, select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id), "Webhook", endpoint_id
    )


async def delete_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    await session.delete(endpoint)
    await session.flush()


async def active_endpoints(session: AsyncSession, tenant_id: int) -> Sequence[tuple[int, list[str]]]:
    rows = await session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.events).where(
            WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.active.is_(True)
        )
    )
    return [(endpoint_id, list(events)) for endpoint_id, events in rows]


async def add_event(
    session: AsyncSession,
    tenant_id: int,
    message_id: str,
    event_type: str,
    payload: str,
    at: datetime,
    endpoint_ids: Sequence[int],
) -> None:
    """The event and one pending delivery per endpoint, in the caller's transaction."""
    event = await inserted(
        session,
        WebhookEvent(
            tenant_id=tenant_id, message_id=message_id, type=event_type, payload=payload, created_at=at
        ),
    )
    session.add_all(
        WebhookDelivery(
            tenant_id=tenant_id,
            endpoint_id=endpoint_id,
            event_id=event.id,
            state=PENDING,
            attempts=0,
            next_attempt_at=at,
            queued_at=at,
            created_at=at,
        )
        for endpoint_id in endpoint_ids
    )
    await session.flush()


@dataclass(frozen=True)
class DueDelivery:
    """What one attempt needs, read while the delivery is leased."""

    delivery_id: int
    tenant_id: int
    endpoint_id: int
    url: str
    secret_enc: str
    message_id: str
    event_type: str
    payload: str
    attempts: int
    queued_at: datetime


async def lease_due(session: AsyncSession, now: datetime, lease: timedelta, limit: int) -> list[DueDelivery]:
    """Up to ``limit`` due deliveries to active endpoints, leased to this process until ``now + lease``.

    On PostgreSQL the rows other processes are leasing at the same moment are skipped (SKIP LOCKED).
    """
    query = (
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.state == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            (WebhookDelivery.leased_until.is_(None)) | (WebhookDelivery.leased_until <= now),
            WebhookEndpoint.active.is_(True),
        )
        # In the order of the (state, next_attempt_at) index: a tie-break on id would sort every pending
        # delivery at each lease, which a backlog of thousands makes quadratic.
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=WebhookDelivery, skip_locked=True)
    ids = list((await session.scalars(query)).all())
    if not ids:
        return []
    await session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id.in_(ids)).values(leased_until=now + lease)
    )
    rows = await session.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.tenant_id,
            WebhookDelivery.endpoint_id,
            WebhookEndpoint.url,
            WebhookEndpoint.secret_enc,
            WebhookEvent.message_id,
            WebhookEvent.type,
            WebhookEvent.payload,
            WebhookDelivery.attempts,
            WebhookDelivery.queued_at,
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.id.in_(ids))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
    )
    return [
        DueDelivery(
            delivery_id=delivery_id,
            tenant_id=tenant_id,
            endpoint_id=endpoint_id,
            url=url,
            secret_enc=secret_enc,
            message_id=message_id,
            event_type=event_type,
            payload=payload,
            attempts=attempts,
            queued_at=queued_at,
        )
        for (
            delivery_id,
            tenant_id,
            endpoint_id,
            url,
            secret_enc,
            message_id,
            event_type,
            payload,
            attempts,
            queued_at,
        ) in rows
    ]


async def release_leases(session: AsyncSession) -> int:
    """At start-up of the only process on a SQLite store: no lease can still be held."""
    result = await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.state == PENDING, WebhookDelivery.leased_until.is_not(None))
        .values(leased_until=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def add_attempt(session: AsyncSession, attempt: WebhookAttempt) -> None:
    session.add(attempt)
    await session.flush()


async def first_attempt_at(session: AsyncSession, delivery_id: int) -> datetime | None:
    return await session.scalar(
        select(func.min(WebhookAttempt.attempted_at)).where(WebhookAttempt.delivery_id == delivery_id)
    )


async def get_delivery(session: AsyncSession, tenant_id: int, delivery_id: int) -> WebhookDelivery:
    return await one_or_not_found(
        session,
        select(WebhookDelivery).where(
            WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.id == delivery_id
        ),
        "WebhookDelivery",
        delivery_id,
    )


async def get_delivery_for_operator(session: AsyncSession, delivery_id: int) -> WebhookDelivery:
    return await one_or_not_found(
        session,
        select(WebhookDelivery).where(WebhookDelivery.id == delivery_id),
        "WebhookDelivery",
        delivery_id,
    )


async def get_endpoint_by_id(session: AsyncSession, endpoint_id: int) -> WebhookEndpoint | None:
    """The endpoint of a leased delivery (the delivery loop serves every tenant)."""
    return await session.get(WebhookEndpoint, endpoint_id)


async def get_delivery_by_id(session: AsyncSession, delivery_id: int) -> WebhookDelivery | None:
    return await session.get(WebhookDelivery, delivery_id)


async def list_deliveries(
    session: AsyncSession, tenant_id: int, endpoint_id: int, *, limit: int = 100, offset: int = 0
) -> list[tuple[WebhookDelivery, WebhookEvent]]:
    """The endpoint's deliveries, newest first, with their events."""
    rows = await session.execute(
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [(delivery, event) for delivery, event in rows]


async def attempts_of(
    session: AsyncSession, tenant_id: int, delivery_ids: Sequence[int]
) -> dict[int, list[WebhookAttempt]]:
    found: dict[int, list[WebhookAttempt]] = {delivery_id: [] for delivery_id in delivery_ids}
    if not delivery_ids:
        return found
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.tenant_id == tenant_id, WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.id)
    )
    for attempt in rows:
        found[attempt.delivery_id].append(attempt)
    return found


async def oldest_pending(session: AsyncSession) -> datetime | None:
    """When the oldest delivery still waiting for an active endpoint was queued (across tenants)."""
    return await session.scalar(
        select(func.min(WebhookDelivery.queued_at))
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.state == PENDING, WebhookEndpoint.active.is_(True))
    )


async def give_up_pending(session: AsyncSession, tenant_id: int, endpoint_id: int) -> None:
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.tenant_id == tenant_id,
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.state == PENDING,
        )
        .values(state=FAILED, leased_until=None)
    )


async def prune_finished(session: AsyncSession, before: datetime, limit: int) -> int:
    """Forget up to ``limit`` events created before ``before`` whose every delivery is over (delivered or
    given up), with their deliveries and attempts (across tenants). Returns how many events went."""
    unfinished = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.event_id == WebhookEvent.id, WebhookDelivery.state == PENDING)
        .exists()
    )
    events = list(
        await session.scalars(
            select(WebhookEvent.id)
            .where(WebhookEvent.created_at < before, ~unfinished)
            .order_by(WebhookEvent.id)
            .limit(limit)
        )
    )
    if not events:
        return 0
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(events))
    await session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    await session.execute(delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(events)))
    await session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(events)))
    return len(events)
