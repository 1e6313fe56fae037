"""A ``headwater serve`` killed with SIGKILL in the middle of a delivery: the next one sends it again."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select

from headwater.connectors.hosts import HostPolicy
from headwater.runtime import open_runtime
from headwater.store.tables import WebhookAttempt, WebhookDelivery
from headwater.uploads import import_upload
from headwater.webhooks import endpoints
from tests.conftest import SECRET_KEY, make_settings
from tests.integration.worker_support import headwater_command, wait_until
from tests.support.services import free_port
from tests.support.tenants import make_tenancy
from tests.support.webhook_receiver import webhook_receiver

SALES = b"saleDate,transactionId,quantity,amount,partnerSkuCode\n2026-01-02,T1,1,1,SKU-1\n"


@contextmanager
def serving(database_url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")},
        "HEADWATER_DATABASE_URL": database_url,
        "HEADWATER_SECRET_KEY": SECRET_KEY,
        "HEADWATER_ALLOW_PRIVATE_HOSTS": "true",
        "HEADWATER_LOG_LEVEL": "WARNING",
    }
    with log.open("ab") as output:
        process = subprocess.Popen(
            [*headwater_command(), "serve", "--port", str(free_port())],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


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

        with serving(database_url, log) as first:

            async def reached() -> bool:
                assert first.poll() is None, log.read_text(errors="replace")
                return len(receiver.arrived) == 1

            await wait_until(reached, "the delivery reaching the receiver", timeout=60)
            first.kill()
            first.wait(timeout=10)
        receiver.hold_requests(False)
        [held_id] = receiver.arrived

        with serving(database_url, log) as second:
            [delivered] = await receiver.wait_for(1, timeout=60)
            assert second.poll() is None, log.read_text(errors="replace")

        assert delivered.message_id == held_id and delivered.verified and delivered.type == "file.imported"
        async with open_runtime(settings, migrate_first=False) as runtime, runtime.db.session() as session:
            [sent] = (await session.scalars(select(WebhookDelivery))).all()
            attempts = (await session.scalars(select(WebhookAttempt))).all()
        assert sent.state == "delivered"
        assert [a.status_code for a in attempts] == [200]
