"""Webhook delivery: 10,000 events from the outbox to a receiver on loopback, beside plain POSTs.

    .venv/bin/python benchmarks/webhooks.py [--events 10000] [--database sqlite|postgres] [--rate N]

Events are written the way the import engine writes them: each in the transaction of its outcome (here
ten outcomes to a transaction, as fast as the store takes them), while a delivery loop runs in the same
process, as in ``headwater serve``; with ``--rate`` the outcomes come at N a second instead (the latency
below capacity rather than that of a backlog). The receiver is the tests' threaded receiver, in a process of its
own, which checks every signature with the ``standardwebhooks`` verifier. Prints events/s and the latency from the outcome's
commit to the receiver (p50, p99), and as a baseline the rate of the same number of plain POSTs sent by
httpx with the same concurrency to the same receiver. Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import PG_ADMIN_DSN, make_settings  # noqa: E402
from tests.support.services import free_port  # noqa: E402
from tests.support.tenants import make_tenancy  # noqa: E402
from tests.support.webhook_receiver import webhook_receiver  # noqa: E402

from headwater.ingest.connectors.hosts import HostPolicy  # noqa: E402
from headwater.runtime import open_runtime  # noqa: E402
from headwater.webhooks import delivery, endpoints, outbox  # noqa: E402

PER_TRANSACTION = 10


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def receive(port: int, secret: str, count: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """The receiver's process: answers until ``count`` events verified, then reports when each came."""
    with webhook_receiver(port) as receiver:
        receiver.expect_secret(secret)
        arrived = asyncio.run(receiver.wait_for(count, timeout=max(120.0, count / 5)))
        results.put(
            [(r.payload["data"]["seq"] if r.payload else -1, r.at, r.verified) for r in arrived]
        )
        time.sleep(3600)  # serves the baseline's plain POSTs until terminated


async def baseline(url: str, count: int, concurrency: int) -> float:
    """Plain POSTs of a small JSON body, ``concurrency`` at a time: events/s."""
    slots = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=10) as client:

        async def post(n: int) -> None:
            async with slots:
                await client.post(url, content=b'{"n": %d}' % n, headers={"webhook-id": f"b{n}"})

        started = time.perf_counter()
        await asyncio.gather(*(post(n) for n in range(count)))
        return count / (time.perf_counter() - started)


async def measure(database_url: str, work: Path, count: int, rate: float | None) -> None:
    settings = make_settings(work, database_url, log_level="WARNING")
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks"
    results: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    async with open_runtime(settings) as runtime:
        tenancy = await make_tenancy(runtime)
        async with runtime.db.session() as session:
            created = await endpoints.create_endpoint(
                session, tenancy.tenant_id, {"url": url}, runtime.box, hosts=HostPolicy(allow_private=True)
            )
        receiver = multiprocessing.Process(target=receive, args=(port, created.secret, count, results))
        receiver.start()
        try:
            await asyncio.sleep(1.0)  # the receiver is listening
            loop = delivery.DeliveryLoop(runtime, release_leases=True)
            await loop.start()
            committed: dict[int, float] = {}
            started = time.time()
            try:
                for first in range(0, count, PER_TRANSACTION):
                    async with runtime.db.session() as session:
                        for seq in range(first, min(first + PER_TRANSACTION, count)):
                            await outbox.record(
                                session,
                                tenancy.tenant_id,
                                "file.imported",
                                {"source": {"id": 1, "name": "bench"}, "file": {"id": seq}, "seq": seq},
                            )
                    now = time.time()
                    for seq in range(first, min(first + PER_TRANSACTION, count)):
                        committed[seq] = now
                    if rate:
                        await asyncio.sleep(max(0.0, started + (first + PER_TRANSACTION) / rate - time.time()))
                written = time.time()
                arrived = await asyncio.to_thread(results.get, True, max(120.0, count / 5))
            finally:
                await loop.stop()
            plain = await baseline(url, count, settings.webhook_concurrency)
        finally:
            receiver.terminate()
            receiver.join(10)
    assert all(verified for _, _, verified in arrived), "a signature did not verify"
    latencies = [at - committed[seq] for seq, at, _ in arrived]
    delivered_rate = count / (max(at for _, at, _ in arrived) - started)
    paced = f", paced at {rate:g}/s" if rate else ", all at once"
    print(f"database: {database_url.split(':', 1)[0]}, events: {count}{paced}")
    print(f"  outbox writes:      {count / (written - started):9.0f} events/s (ten to a transaction)")
    print(f"  delivered:          {delivered_rate:9.0f} events/s, signed, each logged")
    print(
        f"  outcome->delivery:  p50 {statistics.median(latencies) * 1000:7.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:7.1f} ms, max {max(latencies) * 1000:7.1f} ms"
    )
    print(f"  baseline (plain httpx POSTs, same concurrency): {plain:9.0f} requests/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rate", type=float, default=None, help="outcomes a second (default: all at once)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="webhooks-bench-") as directory:
        work = Path(directory)
        if args.database == "sqlite":
            asyncio.run(measure(f"sqlite+aiosqlite:///{work / 'bench.db'}", work, args.events, args.rate))
            return
        name = f"headwater_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            asyncio.run(
                measure(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", work, args.events, args.rate)
            )
        finally:
            with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
