"""A ``headwater serve`` killed with SIGKILL in the middle of a delivery: the next one sends it again."""

from __future__ import annotations

import io
import os
from pathlib import Path

from sqlalchemy import select

from headwater.ingest.connectors.hosts import HostPolicy
from headwater.ingest.uploads import import_upload
from headwater.runtime import open_runtime
from headwater.store.tables import WebhookAttempt, WebhookDelivery
from headwater.webhooks import endpoints
from tests.conftest import make_settings
from tests.integration.worker_support import wait_until, worker_env
from tests.support.live import serve_process
from tests.support.tenants import make_tenancy
from tests.support.webhook_receiver import webhook_receiver

SALES = b"saleDate,transactionId,quantity,amount,partnerSkuCode\n2026-01-02,T1,1,1,SKU-1\n"


def serve_env(database_url: str) -> dict[str, str]:
    """What the server is told, and nothing of the HEADWATER_ settings the tests themselves run under."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    return {**inherited, **{k: v for k, v in worker_env(database_url).items() if k.startswith("HEADWATER_")}}


async def test_a_delivery_cut_short_by_kill_9_is_sent_again_after_a_restart(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}"
    settings = make_settings(tmp_path, database_url)
    log = tmp_path / "serve.log"
    with webhook_receiver() as receiver:
        async with open_runtime(settings) as runtime:
            tenancy = await make_tenancy(runtime)
            async with runtime.db.session() as session:
                created = await endpoints.create_endpoint(
                    session,
                    tenancy.tenant_id,
                    {"url": receiver.url, "events": ["file.imported"]},
                    runtime.box,
                    hosts=HostPolicy(allow_private=True),
                )
            receiver.expect_secret(created.secret)
            await import_upload(
                runtime,
                tenancy.tenant_id,
                source_id=None,
                name="sales.csv",
                processor_type=25011,
                data=io.BytesIO(SALES),
            )
        receiver.hold_requests(True)

        with serve_process(serve_env(database_url), log) as first:

            async def reached() -> bool:
                assert first.process.poll() is None, first.output()
                return len(receiver.arrived) == 1

            await wait_until(reached, "the delivery reaching the receiver", timeout=60)
            first.process.kill()
            first.process.wait(timeout=10)
        receiver.hold_requests(False)
        [held_id] = receiver.arrived

        with serve_process(serve_env(database_url), log) as second:
            [delivered] = await receiver.wait_for(1, timeout=60)
            assert second.process.poll() is None, second.output()

        assert delivered.message_id == held_id and delivered.verified and delivered.type == "file.imported"
        async with open_runtime(settings, migrate_first=False) as runtime, runtime.db.session() as session:
            [sent] = (await session.scalars(select(WebhookDelivery))).all()
            attempts = (await session.scalars(select(WebhookAttempt))).all()
        assert sent.state == "delivered"
        assert [a.status_code for a in attempts] == [200]
