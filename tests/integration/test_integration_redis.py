"""Two API processes with one Redis: an x-api-key's budget is shared, not doubled.

``limits`` stamps each request with the client's clock before its script runs in Redis; the test
holds that clock still (and then moves it) so that "within one second" does not depend on how fast
the machine is. Redis itself is real. Limiter keys are derived from each random area key, so runs of
this test never share a budget.
"""

from __future__ import annotations

import importlib
import pkgutil
import time as real_time
from contextlib import AsyncExitStack
from pathlib import Path

import limits.aio.storage.redis as limits_redis
import pytest

from tests.conftest import make_settings, running_app, runtime_of
from tests.integration.integration_support import IntegrationClient, add_area_key, add_client, add_tenant
from tests.support.services import require_redis

pytestmark = pytest.mark.redis

REDIS_URL = "redis://127.0.0.1:6379/5"


class FrozenClock:
    def __init__(self) -> None:
        self.now = real_time.time()

    def time(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> object:
        return getattr(real_time, name)


@pytest.fixture
def redis_url() -> str:
    return require_redis(REDIS_URL)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    frozen = FrozenClock()
    for info in pkgutil.iter_modules(limits_redis.__path__):
        module = importlib.import_module(f"{limits_redis.__name__}.{info.name}")
        if hasattr(module, "time"):
            monkeypatch.setattr(module, "time", frozen)
    return frozen


async def test_two_app_instances_share_one_budget_per_key(
    tmp_path: Path, redis_url: str, clock: FrozenClock
) -> None:
    settings = make_settings(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}", redis_url=redis_url
    )
    async with AsyncExitStack() as stack:
        first_app, first_http = await stack.enter_async_context(running_app(settings))
        _second_app, second_http = await stack.enter_async_context(running_app(settings))
        runtime = runtime_of(first_app)
        await add_tenant(runtime, "acme")
        issued = await add_client(runtime, "acme")
        # A daily budget: the limiter's clock is frozen, but Redis expires a window's key in real time, and
        # a day-long key cannot expire while the test runs, however busy the machine.
        key = await add_area_key(runtime, "acme", per_day=5)
        first = IntegrationClient(first_http, issued.client_id, issued.secret, key)
        await first.authenticate()
        second = IntegrationClient(second_http, issued.client_id, issued.secret, key)
        second.token = first.token  # a token is good on every instance

        statuses = []
        for client in (first, second, first, second, first):
            statuses.append((await client.request("GET", "/dataSources")).status_code)
        assert statuses == [200] * 5
        for client in (first, second):
            refused = await client.request("GET", "/dataSources")
            assert refused.status_code == 429, "five requests today, over both instances"
            assert 86_000 < int(refused.headers["retry-after"]) <= 86_400

        clock.now += 86_400.01
        assert (await second.request("GET", "/dataSources")).status_code == 200
        assert (await first.request("GET", "/dataSources")).status_code == 200

        other_key = IntegrationClient(
            first_http, issued.client_id, issued.secret, await add_area_key(runtime, "acme")
        )
        other_key.token = first.token
        assert (await other_key.request("GET", "/dataSources")).status_code == 200
