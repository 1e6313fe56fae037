"""Two ``headwater serve`` processes on PostgreSQL and one Redis: rate limits hold for their sum."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from headwater.runtime import Runtime, open_runtime
from tests.conftest import make_settings
from tests.integration.integration_support import IntegrationClient, add_area_key, add_client, add_tenant
from tests.integration.worker_support import (
    worker_env,
)
from tests.support.live import serve_process
from tests.support.services import require_redis

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

REDIS_URL = "redis://127.0.0.1:6379/6"
PER_SECOND = 3


@pytest.fixture
def shared_redis() -> str:
    return require_redis(REDIS_URL)


@asynccontextmanager
async def _api_process(database_url: str, redis_url: str, log: Path) -> AsyncIterator[httpx.AsyncClient]:
    env = {**worker_env(database_url), "HEADWATER_REDIS_URL": redis_url}
    with serve_process(env, log) as served:
        async with httpx.AsyncClient(base_url=served.url, timeout=10) as http:
            yield http


async def _provision(database_url: str, tmp_path: Path, **limits: int) -> tuple[str, str, list[str]]:
    """A tenant, an OAuth2 client and one area key per entry of ``limits`` (``per_second=3`` ...)."""
    async with open_runtime(make_settings(tmp_path, database_url), migrate_first=False) as runtime:
        await add_tenant(runtime, "two-apis")
        issued = await add_client(runtime, "two-apis")
        keys = [await _key(runtime, name, value) for name, value in limits.items()]
    return issued.client_id, issued.secret, keys


async def _key(runtime: Runtime, limit_name: str, value: int) -> str:
    return await add_area_key(runtime, "two-apis", **{limit_name: value})


async def test_two_api_processes_share_each_keys_rate_limits_through_redis(
    queue_url: str, shared_redis: str, tmp_path: Path
) -> None:
    async with (
        _api_process(queue_url, shared_redis, tmp_path / "api-1.log") as first_http,
        _api_process(queue_url, shared_redis, tmp_path / "api-2.log") as second_http,
    ):
        client_id, secret, (per_second_key, per_day_key) = await _provision(
            queue_url, tmp_path, per_second=PER_SECOND, per_day=4
        )
        first = IntegrationClient(first_http, client_id, secret, per_second_key)
        await first.authenticate()
        second = IntegrationClient(second_http, client_id, secret, per_second_key)
        second.token = first.token  # a token is good on every process

        # A burst over both processes: whatever its duration, no one-second window may hold more than
        # the key's per-second budget, summed over the two processes.
        burst = [first, second] * (2 * PER_SECOND)
        began = time.monotonic()
        answers = await asyncio.gather(*(client.request("GET", "/dataSources") for client in burst))
        elapsed = time.monotonic() - began
        statuses = [answer.status_code for answer in answers]
        assert set(statuses) <= {200, 429}, statuses
        assert statuses.count(200) <= PER_SECOND * (math.floor(elapsed) + 1), (statuses, elapsed)
        assert 429 in statuses[0::2] or 429 in statuses[1::2]

        # The per-day budget makes the sum exact: four requests in all, whichever process takes them.
        first.api_key = second.api_key = per_day_key
        alternating = [
            (await client.request("GET", "/dataSources")).status_code for client in [first, second] * 4
        ]
        assert alternating == [200, 200, 200, 200, 429, 429, 429, 429]
