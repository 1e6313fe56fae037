"""Webhooks end to end: real imports through the engine, a real receiver on loopback that checks each
signature with the ``standardwebhooks`` verifier, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from headwater.clock import utcnow
from headwater.errors import ConnectionFailed, ValidationFailed
from headwater.ingest.connectors.hosts import HostPolicy
from headwater.ingest.connectors.memory import MemoryServer
from headwater.ingest.imports import RunSummary, run_source
from headwater.runtime import Runtime, open_runtime
from headwater.settings import Settings
from headwater.store.tables import DataSource, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from headwater.webhooks import delivery, endpoints
from headwater.webhooks.client import WebhookClient
from headwater.webhooks.events import EVENT_TYPES
from tests.conftest import make_settings
from tests.support.tenants import Tenancy, make_source, make_tenancy
from tests.support.webhook_receiver import Receiver, webhook_receiver

HEADER = "saleDate,transactionId,quantity,amount,partnerSkuCode\n"


def sales(*rows: str) -> bytes:
    return (HEADER + "".join(row + "\n" for row in rows)).encode()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url, webhook_retry_base=0.05)


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    async with open_runtime(settings) as opened:
        yield opened


@pytest.fixture
async def tenancy(runtime: Runtime) -> Tenancy:
    return await make_tenancy(runtime)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture
async def sending(runtime: Runtime) -> AsyncIterator[delivery.DeliveryLoop]:
    loop = delivery.DeliveryLoop(runtime, release_leases=False, tick=0.05)
    await loop.start()
    yield loop
    await loop.stop()


async def register(runtime: Runtime, tenant_id: int, receiver: Receiver, **body: object) -> int:
    async with runtime.db.session() as session:
        created = await endpoints.create_endpoint(
            session,
            tenant_id,
            {"url": receiver.url, **body},
            runtime.box,
            hosts=HostPolicy.from_settings(runtime.settings),
        )
    receiver.expect_secret(created.secret)
    return created.endpoint.id


async def run_once(runtime: Runtime, source: DataSource, server: MemoryServer) -> RunSummary:
    return await run_source(runtime, source.tenant_id, source.id, connect=server.connector_for)


async def deliveries_of(runtime: Runtime) -> list[WebhookDelivery]:
    async with runtime.db.session() as session:
        return list((await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))).all())


async def settled(runtime: Runtime) -> list[WebhookDelivery]:
    """The deliveries once none is pending any more (the receiver answers before the log is written)."""
    for _ in range(500):
        found = await deliveries_of(runtime)
        if all(d.state != "pending" for d in found):
            return found
        await asyncio.sleep(0.02)
    raise AssertionError("deliveries still pending")


async def test_each_event_type_arrives_once_with_a_valid_signature(
    runtime: Runtime, tenancy: Tenancy, receiver: Receiver, sending: delivery.DeliveryLoop
) -> None:
    await register(runtime, tenancy.tenant_id, receiver)
    server = MemoryServer(host_key="ssh-ed25519 AAAAfirst")
    server.put("in/good.csv", sales("2026-01-02,T1,1,1,SKU-1"))
    server.put("in/some-bad.csv", sales("2026-01-02,T2,1,1,SKU-1", "not-a-date,T3,1,1,SKU-1"))
    server.put("in/broken.csv", b"\x00\x01\x02\xff binary \x00")
    source = await make_source(runtime, tenancy)

    assert (await run_once(runtime, source, server)).outcome == "partial"
    assert (await run_once(runtime, source, server)).outcome == "succeeded"
    server.host_key = "ssh-ed25519 AAAAsecond"
    assert (await run_once(runtime, source, server)).outcome == "failed"
    server.host_key = "ssh-ed25519 AAAAfirst"
    server.fail_connections(ConnectionFailed("cannot reach files.partner.example:22"), times=2)
    assert (await run_once(runtime, source, server)).outcome == "failed"
    assert (await run_once(runtime, source, server)).outcome == "failed"
    assert (await run_once(runtime, source, server)).outcome == "succeeded"

    expected = {
        "file.imported": 2,
        "file.rejected_rows": 1,
        "file.failed": 1,
        "run.failed": 4,
        "run.succeeded": 2,
        "source.host_key_changed": 1,
        "source.failing": 1,
        "source.recovered": 1,
    }
    arrived = await receiver.wait_for(sum(expected.values()))
    assert set(expected) == set(EVENT_TYPES)
    assert Counter(r.type for r in arrived) == expected
    assert all(r.verified for r in arrived)
    assert len({r.message_id for r in arrived}) == len(arrived)
    assert all(d.state == "delivered" and d.attempts == 1 for d in await settled(runtime))

    by_type = {r.type: r.payload for r in arrived if r.payload is not None}
    rejected = by_type["file.rejected_rows"]
    assert rejected is not None
    assert rejected["data"]["source"] == {"id": source.id, "name": source.name}
    assert rejected["data"]["file"]["name"] == "some-bad.csv"
    assert (rejected["data"]["file"]["rowsOk"], rejected["data"]["file"]["rowsWithErrors"]) == (1, 1)
    assert [(e["line"], e["code"]) for e in rejected["data"]["errors"]] == [(3, "InvalidDate")]
    failing = by_type["source.failing"]
    assert failing is not None and failing["data"]["failureCount"] == 3
    assert set(by_type["run.succeeded"] or {}) == {"type", "timestamp", "data"}
    everything = " ".join(str(r.payload) for r in arrived)
    assert "s3cret-password" not in everything and "whsec_" not in everything


async def test_a_receiver_failing_twice_gets_the_event_on_the_third_attempt_with_the_same_id(
    runtime: Runtime, tenancy: Tenancy, receiver: Receiver, sending: delivery.DeliveryLoop
) -> None:
    endpoint_id = await register(runtime, tenancy.tenant_id, receiver, events=["file.imported"])
    receiver.answer(500, 500)
    server = MemoryServer()
    server.put("in/good.csv", sales("2026-01-02,T1,1,1,SKU-1"))
    source = await make_source(runtime, tenancy)

    await run_once(runtime, source, server)

    [delivered] = await receiver.wait_for(1)
    await settled(runtime)
    assert delivered.type == "file.imported" and delivered.verified
    assert receiver.arrived == [delivered.message_id] * 3
    async with runtime.db.session() as session:
        [shown] = await delivery.list_deliveries(session, tenancy.tenant_id, endpoint_id)
    assert (shown["state"], shown["attempts"], shown["eventId"]) == ("delivered", 3, delivered.message_id)
    assert [(a["attempt"], a["statusCode"]) for a in shown["log"]] == [(1, 500), (2, 500), (3, 200)]
    assert shown["log"][0]["response"] == "receiver error"
    assert shown["log"][2]["response"] == '{"ok": true}'


async def test_the_event_of_a_rolled_back_file_is_never_sent(
    runtime: Runtime, tenancy: Tenancy, receiver: Receiver, sending: delivery.DeliveryLoop
) -> None:
    await register(runtime, tenancy.tenant_id, receiver)
    server = MemoryServer()
    server.put("in/good.csv", sales("2026-01-02,T1,1,1,SKU-1"))
    source = await make_source(runtime, tenancy)
    # The store fails the file's transaction after its event was written in it.
    await _refuse_file_events(runtime)

    first = await run_once(runtime, source, server)
    assert [f.state for f in first.files] == ["rolledback"]
    [run_failed] = await receiver.wait_for(1)
    assert run_failed.type == "run.failed"

    await _accept_file_events(runtime)
    await run_once(runtime, source, server)
    arrived = await receiver.wait_for(3)
    assert [r.type for r in arrived] == ["run.failed", "file.imported", "run.succeeded"]


async def _refuse_file_events(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        if runtime.db.is_postgres:
            await session.execute(
                text(
                    "CREATE FUNCTION refuse_file_event() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'store failure'; END $$"
                )
            )
            await session.execute(
                text(
                    "CREATE TRIGGER refuse_file_event AFTER INSERT ON webhook_events FOR EACH ROW "
                    "WHEN (NEW.type = 'file.imported') EXECUTE FUNCTION refuse_file_event()"
                )
            )
        else:
            await session.execute(
                text(
                    "CREATE TRIGGER refuse_file_event AFTER INSERT ON webhook_events "
                    "WHEN NEW.type = 'file.imported' BEGIN SELECT RAISE(ABORT, 'store failure'); END"
                )
            )


async def _accept_file_events(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        if runtime.db.is_postgres:
            await session.execute(text("DROP TRIGGER refuse_file_event ON webhook_events"))
            await session.execute(text("DROP FUNCTION refuse_file_event()"))
        else:
            await session.execute(text("DROP TRIGGER refuse_file_event"))


async def test_an_endpoint_failing_for_the_whole_window_is_turned_off_with_the_reason(
    tmp_path: Path, database_url: str, receiver: Receiver
) -> None:
    settings = make_settings(
        tmp_path, database_url, webhook_retry_base=0.05, webhook_disable_after=0.3, webhook_retry_window=0.3
    )
    async with open_runtime(settings) as runtime:
        tenancy = await make_tenancy(runtime)
        endpoint_id = await register(runtime, tenancy.tenant_id, receiver, events=["run.failed"])
        receiver.answer(*[503] * 1000)
        server = MemoryServer()
        server.fail_connections(ConnectionFailed("down"))
        source = await make_source(runtime, tenancy)
        await run_once(runtime, source, server)
        loop = delivery.DeliveryLoop(runtime, release_leases=False, tick=0.02)
        await loop.start()
        try:
            for _ in range(300):
                async with runtime.db.session() as session:
                    endpoint = await session.get(WebhookEndpoint, endpoint_id)
                    assert endpoint is not None
                    if not endpoint.active:
                        break
                await _pause()
        finally:
            await loop.stop()
        assert not endpoint.active
        assert endpoint.disabled_reason is not None and "503" in endpoint.disabled_reason

        async with runtime.db.session() as session:
            back = await endpoints.update_endpoint(
                session,
                tenancy.tenant_id,
                endpoint_id,
                {"active": True},
                hosts=HostPolicy(allow_private=True),
            )
            assert back.active and back.disabled_reason is None


async def _pause() -> None:
    await asyncio.sleep(0.02)


async def test_a_private_host_is_refused_at_creation_and_again_at_delivery(
    runtime: Runtime, tenancy: Tenancy, receiver: Receiver
) -> None:
    guarded = HostPolicy()
    async with runtime.db.session() as session:
        with pytest.raises(ValidationFailed) as refused:
            await endpoints.create_endpoint(
                session, tenancy.tenant_id, {"url": receiver.url}, runtime.box, hosts=guarded
            )
    assert [p.code for p in refused.value.problems] == ["HostNotAllowed"]

    # Allowed when it was made (HEADWATER_ALLOW_PRIVATE_HOSTS), refused once the operator lifts that.
    await register(runtime, tenancy.tenant_id, receiver)
    server = MemoryServer()
    server.put("in/good.csv", sales("2026-01-02,T1,1,1,SKU-1"))
    await run_once(runtime, await make_source(runtime, tenancy), server)
    client = WebhookClient(runtime.settings.model_copy(update={"allow_private_hosts": False}))
    try:
        assert await delivery.deliver_due(runtime, client) == 2
    finally:
        await client.aclose()
    assert receiver.arrived == []
    async with runtime.db.session() as session:
        [endpoint] = await endpoints.list_endpoints(session, tenancy.tenant_id)
        shown = await delivery.list_deliveries(session, tenancy.tenant_id, endpoint.id)
    assert all(d["state"] == "pending" and d["log"][0]["error"].startswith("HostRefused") for d in shown)


async def test_a_tenant_is_told_only_of_its_own_imports(
    runtime: Runtime, tenancy: Tenancy, sending: delivery.DeliveryLoop
) -> None:
    other = await make_tenancy(runtime, "globex", "REST02")
    with webhook_receiver() as mine, webhook_receiver() as theirs:
        await register(runtime, tenancy.tenant_id, mine)
        their_endpoint = await register(runtime, other.tenant_id, theirs)
        server = MemoryServer()
        server.put("in/good.csv", sales("2026-01-02,T1,1,1,SKU-1"))
        await run_once(runtime, await make_source(runtime, tenancy), server)

        assert [r.type for r in await mine.wait_for(2)] == ["file.imported", "run.succeeded"]
        assert theirs.arrived == []
        async with runtime.db.session() as session:
            assert await endpoints.list_endpoints(session, other.tenant_id) != []
            assert [e.id for e in await endpoints.list_endpoints(session, tenancy.tenant_id)] != [
                their_endpoint
            ]
            with pytest.raises(Exception, match="not found"):
                await endpoints.get_endpoint(session, tenancy.tenant_id, their_endpoint)


async def test_a_delivery_sent_again_by_hand_carries_the_same_id(
    runtime: Runtime, tenancy: Tenancy, receiver: Receiver, sending: delivery.DeliveryLoop
) -> None:
    await register(runtime, tenancy.tenant_id, receiver, events=["run.succeeded"])
    server = MemoryServer()
    await run_once(runtime, await make_source(runtime, tenancy), server)
    [first] = await receiver.wait_for(1)
    [sent] = await settled(runtime)

    async with runtime.db.session() as session:
        await delivery.redeliver(session, tenancy.tenant_id, sent.id)

    again = await receiver.wait_for(2)
    assert [r.message_id for r in again] == [first.message_id] * 2
    assert all(r.verified for r in again)


async def test_finished_deliveries_are_forgotten_after_the_log_days_and_pending_ones_never(
    runtime: Runtime, tenancy: Tenancy, receiver: Receiver
) -> None:
    await register(runtime, tenancy.tenant_id, receiver, events=["file.imported"])
    server = MemoryServer()
    source = await make_source(runtime, tenancy)
    for name in ("delivered-long-ago", "pending-long-ago", "failed-lately"):
        server.put(f"in/{name}.csv", sales(f"2026-01-02,{name},1,1,SKU-1"))
        await run_once(runtime, source, server)
    long_ago = utcnow() - timedelta(days=runtime.settings.webhook_log_days + 1)
    async with runtime.db.session() as session:
        first, second, third = await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
        first.state, second.state, third.state = "delivered", "pending", "failed"
        session.add(
            WebhookAttempt(
                tenant_id=tenancy.tenant_id,
                delivery_id=first.id,
                attempt=1,
                attempted_at=long_ago,
                status_code=200,
                latency_ms=3,
                response="ok",
                error=None,
            )
        )
        for old in (first, second):
            event = await session.get(WebhookEvent, old.event_id)
            assert event is not None
            event.created_at = long_ago

    assert await delivery.prune_log(runtime) == 1

    async with runtime.db.session() as session:
        kept = [
            (d.state, d.id)
            for d in await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
        ]
        events = await session.scalar(select(func.count()).select_from(WebhookEvent))
        attempts = await session.scalar(select(func.count()).select_from(WebhookAttempt))
    assert kept == [("pending", second.id), ("failed", third.id)]
    assert (events, attempts) == (2, 0)
