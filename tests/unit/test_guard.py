"""The guard in front of every check of a hashed secret: few at a time, each address its share, and
failures counted per address and per principal (``limits`` in memory here; Redis in the integration
tests).

A "slow" hash is a real argon2 hash with many passes, so that a check of it is still running while the
test starts the next one; nothing waits on a clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
from anyio.abc import TaskGroup
from argon2 import PasswordHasher
from limits import parse

from headwater.access.guard import Attempt, AuthGuard
from headwater.access.ratelimit import RateLimiter
from headwater.errors import RateLimited, TooManyFailures

SECRET = "the right secret"


@pytest.fixture(scope="module")
def slow_hash() -> str:
    return PasswordHasher(time_cost=150, memory_cost=8 * 1024, parallelism=1).hash(SECRET)


@pytest.fixture(scope="module")
def quick_hash() -> str:
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(SECRET)


@pytest.fixture
async def limiter() -> AsyncIterator[RateLimiter]:
    opened = RateLimiter()
    yield opened
    await opened.close()


def guard_over(limiter: RateLimiter, **overrides: object) -> AuthGuard:
    options: dict[str, object] = {
        "concurrency": 2,
        "wait": 30.0,
        "per_address": 2,
        "failures_per_address": parse("5/minute"),
        "failures_per_principal": parse("3/minute"),
    }
    options.update(overrides)
    return AuthGuard(limiter.storage, **options)  # type: ignore[arg-type]


async def _fail(guard: AuthGuard, attempt: Attempt, times: int) -> None:
    for _ in range(times):
        await guard.admit(attempt)
        await guard.failed(attempt)


async def _verify(guard: AuthGuard, address: str, hashed: str | None, secret: str) -> bool:
    async with guard.turn(Attempt("client", address, "hwc_someone")) as turn:
        return await turn.verify(hashed, secret)


async def _start_a_slow_check_from(tasks: TaskGroup, guard: AuthGuard, address: str, slow_hash: str) -> None:
    """A wrong guess against a slow hash, left running in ``tasks``: back once it holds a slot."""
    tasks.start_soon(_verify, guard, address, slow_hash, "a guess")
    while guard.checks_under_way == 0:
        await anyio.sleep(0.005)


async def test_a_check_tells_the_right_secret_from_a_wrong_one(limiter: RateLimiter, quick_hash: str) -> None:
    guard = guard_over(limiter)
    assert await _verify(guard, "192.0.2.1", quick_hash, SECRET)
    assert not await _verify(guard, "192.0.2.1", quick_hash, "a wrong secret")
    assert not await _verify(guard, "192.0.2.1", "not an argon2 hash", SECRET)
    assert not await _verify(guard, "192.0.2.1", None, SECRET)  # no such principal: a decoy is checked


async def test_failures_past_the_principal_limit_refuse_that_principal_only(limiter: RateLimiter) -> None:
    guard = guard_over(limiter)
    ada = Attempt("partner", "192.0.2.1", "1\x00ada")
    await _fail(guard, ada, 3)
    with pytest.raises(TooManyFailures) as refused:
        await guard.admit(Attempt("partner", "198.51.100.9", "1\x00ada"))
    assert refused.value.credential == "partner"
    assert 1 <= refused.value.retry_after <= 60
    await guard.admit(Attempt("partner", "192.0.2.1", "1\x00bob"))  # same address, another principal
    await guard.admit(Attempt("client", "192.0.2.1", "1\x00ada"))  # another kind of credential


async def test_failures_past_the_address_limit_refuse_that_address_for_every_principal(
    limiter: RateLimiter,
) -> None:
    guard = guard_over(limiter)
    for n in range(5):
        await _fail(guard, Attempt("client", "192.0.2.1", f"hwc_guess{n}"), 1)
    for attempt in (
        Attempt("client", "192.0.2.1", "hwc_never_tried"),
        Attempt("touchpoint", "192.0.2.1", "shop"),
        Attempt("api_key", "192.0.2.1"),
    ):
        with pytest.raises(TooManyFailures) as refused:
            await guard.admit(attempt)
        assert refused.value.credential == attempt.credential
    await guard.admit(Attempt("client", "192.0.2.2", "hwc_never_tried"))


async def test_one_address_has_its_share_of_attempts_under_way_and_others_are_not_held_up(
    limiter: RateLimiter, quick_hash: str
) -> None:
    guard = guard_over(limiter, per_address=2)
    flooding = Attempt("client", "192.0.2.66", "hwc_guess")
    async with guard.turn(flooding), guard.turn(flooding):
        with pytest.raises(RateLimited) as refused:
            async with guard.turn(flooding):
                pass
        assert not isinstance(refused.value, TooManyFailures)
        assert refused.value.retry_after == 1
        assert await _verify(guard, "192.0.2.1", quick_hash, SECRET)
    async with guard.turn(flooding):  # its share is back once its attempts are over
        pass


async def test_one_address_checks_one_secret_at_a_time_and_leaves_the_other_slots_free(
    limiter: RateLimiter, slow_hash: str, quick_hash: str
) -> None:
    guard = guard_over(limiter, concurrency=2, wait=0.05)
    async with anyio.create_task_group() as tasks:
        await _start_a_slow_check_from(tasks, guard, "192.0.2.66", slow_hash)
        with pytest.raises(RateLimited):  # its own second check waits for the first, then gives up
            await _verify(guard, "192.0.2.66", quick_hash, SECRET)
        assert await _verify(guard, "192.0.2.1", quick_hash, SECRET)


async def test_a_check_that_cannot_start_in_time_is_refused_rather_than_queued(
    limiter: RateLimiter, slow_hash: str, quick_hash: str
) -> None:
    guard = guard_over(limiter, concurrency=1, wait=0.05)
    async with anyio.create_task_group() as tasks:
        await _start_a_slow_check_from(tasks, guard, "192.0.2.66", slow_hash)
        with pytest.raises(RateLimited):
            await _verify(guard, "192.0.2.1", quick_hash, SECRET)
    assert guard.checks_under_way == 0
    assert await _verify(guard, "192.0.2.1", quick_hash, SECRET)
