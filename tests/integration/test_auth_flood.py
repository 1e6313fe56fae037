"""A flood of bogus sign-ins against a live ``headwater serve`` leaves legitimate callers answered.

Bogus token requests and bogus logins pour in from 127.0.0.2, many at a time, while a legitimate
caller on 127.0.0.1 pings, logs in and asks for tokens. Nobody gets a 5xx: the flood is answered 401
and then 429, the legitimate caller 200 throughout. (How fast, and at what memory, is for
``benchmarks/auth_flood.py``.)
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.integration.worker_support import (
    worker_env,
)
from tests.support.flood import LEGITIMATE_ADDRESS, LegitimateCaller, client_from, flood, provision
from tests.support.live import serve_process

FLOOD_REQUESTS = 100
FLOOD_CONCURRENCY = 50


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}"
    url: str = request.getfixturevalue("queue_url")
    return url


def serve_env(database_url: str) -> dict[str, str]:
    return {
        **worker_env(database_url),
        "HEADWATER_RUN_IMPORTS": "false",
        # How long a check may wait for its turn is a matter of machine speed; this test is about
        # who gets answered, so the bound stays out of its way (the guard's own tests cover it).
        "HEADWATER_AUTH_VERIFY_WAIT": "120",
    }


async def test_a_flood_of_bogus_sign_ins_leaves_legitimate_callers_answered(
    served_database: str, tmp_path: Path
) -> None:
    given = await provision(make_settings(tmp_path, served_database))
    with serve_process(serve_env(served_database), tmp_path / "serve.log") as served:
        base_url = served.url
        async with client_from(LEGITIMATE_ADDRESS, base_url, 1) as http:
            before = LegitimateCaller(http, given)
            await before.round()
            done = asyncio.Event()

            async def flooding() -> dict[int, int]:
                try:
                    return dict(
                        await flood(base_url, given, requests=FLOOD_REQUESTS, concurrency=FLOOD_CONCURRENCY)
                    )
                finally:
                    done.set()

            during = LegitimateCaller(http, given)
            statuses, _ = await asyncio.gather(flooding(), during.rounds_until(done))
            after = LegitimateCaller(http, given)
            await after.round()

    assert set(statuses) <= {401, 429}, statuses
    assert statuses.get(429, 0) > 0, statuses
    assert sum(statuses.values()) == 2 * FLOOD_REQUESTS
    for caller in (before, during, after):
        assert [answer.status for answer in caller.answers] == [200] * len(caller.answers), caller.answers
