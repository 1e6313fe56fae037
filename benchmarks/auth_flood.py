"""A flood of bogus sign-ins against one headwater process, and a legitimate caller beside it.

    .venv/bin/python benchmarks/auth_flood.py [--requests 200] [--concurrency 100]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/DB]

Serves headwater with uvicorn on 127.0.0.1 (SQLite in a temporary folder unless ``--database-url``,
which must name an empty, migrated or new database). From 127.0.0.2, ``--requests`` bogus
``POST /oauth2/token`` (unknown client ids, or another client's id with a wrong secret) and as many
bogus ``POST /api/v4/login`` (a valid touchpoint, wrong passwords), each kind ``--concurrency`` at a
time. From 127.0.0.1, while the flood lasts, a legitimate caller repeats ``GET /v1/ping``, a login and
a token request. Prints the legitimate answers' statuses and latencies, the flood's statuses, the
5xx count and the server's resident memory before, at its peak and after. Not a test: figures depend
on the machine (the load generator shares it with the server).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.flood import LEGITIMATE_ADDRESS, LegitimateCaller, client_from, flood, provision  # noqa: E402
from tests.support.services import free_port  # noqa: E402

from benchmarks.served import add_database_option, database_url_of, served_env, serving, wait_until_up  # noqa: E402
from headwater.api.app import create_app  # noqa: E402
from headwater.settings import Settings  # noqa: E402


def headwater_app() -> Any:
    """uvicorn factory: headwater configured from HEADWATER_* variables."""
    return create_app(Settings())


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (resident at its peak) of a process, in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def mib(kib: int) -> str:
    return f"{kib / 1024:7.0f} MiB"


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="bogus requests of each kind")
    parser.add_argument("--concurrency", type=int, default=100, help="bogus requests in flight, per kind")
    add_database_option(parser)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="headwater-bench-") as folder:
        database_url = database_url_of(options.database_url, folder)
        env = served_env(database_url, HEADWATER_LOG_LEVEL="ERROR")
        settings = Settings(
            database_url=database_url, secret_key=env["HEADWATER_SECRET_KEY"], run_imports=False
        )
        given = await provision(settings)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with serving("benchmarks.auth_flood:headwater_app", port, env, log_level="critical") as server:
            await wait_until_up(base + "/healthz")
            async with client_from(LEGITIMATE_ADDRESS, base, 1) as http:
                quiet = LegitimateCaller(http, given)
                for _ in range(3):
                    await quiet.round()
                before = memory_kib(server.pid)

                peak_rss = before["VmRSS"]
                done = asyncio.Event()

                async def sample() -> None:
                    nonlocal peak_rss
                    while not done.is_set():
                        peak_rss = max(peak_rss, memory_kib(server.pid)["VmRSS"])
                        await asyncio.sleep(0.05)

                async def flooding() -> Counter[int]:
                    try:
                        return await flood(
                            base, given, requests=options.requests, concurrency=options.concurrency
                        )
                    finally:
                        done.set()

                busy = LegitimateCaller(http, given)

                async def legitimate() -> None:
                    await asyncio.sleep(0.3)  # let the flood fill the server first
                    await busy.rounds_until(done)

                started = time.perf_counter()
                statuses, _, _ = await asyncio.gather(flooding(), legitimate(), sample())
                flood_seconds = time.perf_counter() - started
                await asyncio.sleep(1)
                after = memory_kib(server.pid)

    store = "PostgreSQL" if settings.is_postgres else "SQLite"
    print(f"\n{store}; flood: {options.requests} bogus token requests + {options.requests} bogus logins,")
    print(f"each {options.concurrency} at a time, from 127.0.0.2; lasted {flood_seconds:.1f} s")
    print(f"flood answers: {dict(sorted(statuses.items()))} (0 = transport error)")
    print(
        f"\n{'legitimate, from 127.0.0.1':<28} {'quiet p50':>10} {'flood p50':>10} {'flood max':>10}  statuses"
    )
    for what in ("GET /v1/ping", "POST /api/v4/login", "POST /oauth2/token"):
        calm = [a.seconds for a in quiet.answers if a.what == what]
        loud = [a for a in busy.answers if a.what == what]
        shown = dict(Counter(a.status for a in loud))
        print(
            f"{what:<28} {statistics.median(calm) * 1000:8.0f}ms "
            f"{statistics.median(a.seconds for a in loud) * 1000:8.0f}ms "
            f"{max(a.seconds for a in loud) * 1000:8.0f}ms  {shown}"
        )
    print(
        "in order:",
        ", ".join(f"{a.what.split()[1]} {a.status} {a.seconds * 1000:.0f}ms" for a in busy.answers),
    )
    server_errors = sum(n for status, n in statuses.items() if status >= 500 or status == 0)
    server_errors += sum(1 for a in busy.answers if a.status >= 500 or a.status == 0)
    print(f"\n5xx or transport errors, flood and legitimate: {server_errors}")
    print(
        f"server RSS: before {mib(before['VmRSS'])}, peak {mib(max(peak_rss, after['VmHWM']))}, "
        f"after {mib(after['VmRSS'])}"
    )


if __name__ == "__main__":
    asyncio.run(main())
