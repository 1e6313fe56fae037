"""Limits per x-api-key, counted by ``limits`` in memory, on a clock the test moves by hand.

The gate's authentication is replaced by a fixed area (its own tests need a database); the budget, the
429 answer and its Retry-After are the real ones. ``POST /dataSources/{id}/runs`` with imports
disabled answers without touching the store, which keeps these tests free of a database.
"""

from __future__ import annotations

import time as real_time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import SimpleNamespace

import httpx
import limits.aio.storage.memory
import limits.aio.strategies
import pytest
from cryptography.fernet import Fernet

from headwater.access import areakeys, ratelimit
from headwater.access.oauth import Area
from headwater.access.ratelimit import RateLimiter
from headwater.api import integration
from headwater.errors import RateLimited
from headwater.settings import Settings


class FakeClock:
    """Stands in for the ``time`` module where the limiter and ``limits`` read the time."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def __getattr__(self, name: str) -> object:
        return getattr(real_time, name)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    for module in (limits.aio.storage.memory, limits.aio.strategies, ratelimit):
        monkeypatch.setattr(module, "time", fake)
    return fake


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
        secret_key=Fernet.generate_key().decode(),
        secret_key_file=tmp_path / "key",
        run_imports=False,
        rate_limit_per_second=4,
        rate_limit_per_day=1000,
    )


def _area(name: str, *, per_second: int | None = None, per_day: int | None = None) -> Area:
    return Area(
        client_id="hwc_test",
        tenant_id=1,
        key_id=hash(name) % 1000,
        per_second=per_second,
        per_day=per_day,
        limit_key=f"test-{name}",
    )


Gate = Callable[[Area], httpx.AsyncClient]


@pytest.fixture
async def gate(settings: Settings) -> AsyncIterator[Gate]:
    """An httpx client of the /prod sub-app whose callers are authenticated as the given area."""
    app = integration.create_app(settings)
    limiter = RateLimiter()
    app.state.runtime = SimpleNamespace(settings=settings, limiter=limiter, runner=None)
    clients: list[httpx.AsyncClient] = []

    def client_as(area: Area) -> httpx.AsyncClient:
        app.dependency_overrides[integration.authenticated_area] = lambda: area
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        clients.append(http)
        return http

    yield client_as
    for http in clients:
        await http.aclose()
    await limiter.close()


async def _call(http: httpx.AsyncClient) -> httpx.Response:
    return await http.post("/dataSources/1/runs")


async def test_the_request_past_the_per_second_limit_gets_429_until_the_window_moves_on(
    gate: Gate, clock: FakeClock
) -> None:
    http = gate(_area("busy", per_second=3))
    for _ in range(3):
        answered = await _call(http)
        assert answered.status_code == 200 and answered.json()["messageCode"] == "runs_disabled"
        clock.advance(0.1)
    refused = await _call(http)
    assert refused.status_code == 429
    assert refused.json() == {"message": "Too Many Requests"}
    assert refused.headers["retry-after"] == "1"

    clock.advance(0.6)  # 0.9 s after the first request: still three in the last second
    assert (await _call(http)).status_code == 429
    clock.advance(0.15)  # the first request has left the window
    assert (await _call(http)).status_code == 200
    assert (await _call(http)).status_code == 429, "refused requests were not counted, but this one is"


async def test_the_per_day_limit_holds_across_seconds_and_tells_how_long_to_wait(
    gate: Gate, clock: FakeClock
) -> None:
    http = gate(_area("daily", per_second=100, per_day=5))
    for _ in range(5):
        assert (await _call(http)).status_code == 200
        clock.advance(60)
    refused = await _call(http)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) == 86400 - 5 * 60
    clock.advance(86400 - 5 * 60)
    assert (await _call(http)).status_code == 200


async def test_keys_without_limits_of_their_own_get_the_configured_defaults_and_separate_budgets(
    gate: Gate, clock: FakeClock
) -> None:
    first = gate(_area("first"))
    for _ in range(4):  # rate_limit_per_second=4 in these settings
        assert (await _call(first)).status_code == 200
    assert (await _call(first)).status_code == 429
    second = gate(_area("second"))
    assert (await _call(second)).status_code == 200, "another key has its own budget"


async def test_spend_counts_against_every_limit_of_the_key(clock: FakeClock, settings: Settings) -> None:
    limiter = RateLimiter()
    area = _area("core", per_second=2, per_day=3)
    assert [str(item) for item in areakeys.limits_of(area, settings)] == ["2 per 1 second", "3 per 1 day"]
    await areakeys.spend(limiter, area, settings)
    await areakeys.spend(limiter, area, settings)
    with pytest.raises(RateLimited) as refused:
        await areakeys.spend(limiter, area, settings)
    assert refused.value.retry_after == 1
    clock.advance(1)
    await areakeys.spend(limiter, area, settings)
    clock.advance(1)
    with pytest.raises(RateLimited) as daily:
        await areakeys.spend(limiter, area, settings)
    assert daily.value.retry_after == 86400 - 2
    await limiter.close()
