"""Worker processes, SFTP sources and queue helpers shared by the distributed-mode tests and benchmark."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import psycopg
from sqlalchemy import text

from headwater import sources
from headwater.access import credentials
from headwater.ingest.connectors.hosts import HostPolicy
from headwater.runtime import Runtime
from headwater.store.queue_schema import QUEUE_SCHEMA, libpq_conninfo
from tests.conftest import SECRET_KEY, _truncate_postgres
from tests.support.live import headwater_command

SALES_HEADER = b"saleDate,transactionId,quantity,amount,partnerSkuCode\n"
# Fast enough for tests: a killed worker is noticed after three seconds.
FAST_RECOVERY = ["--heartbeat-interval", "0.5", "--stalled-after", "3", "--shutdown-timeout", "5"]


class SftpEndpoint(Protocol):
    """Where an SFTP source points (``tests.servers.SftpServerInfo`` is one)."""

    host: str
    port: int
    user: str
    password: str


def worker_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "HEADWATER_DATABASE_URL": database_url,
        "HEADWATER_SECRET_KEY": SECRET_KEY,
        "HEADWATER_ALLOW_PRIVATE_HOSTS": "true",
        "HEADWATER_LOG_LEVEL": "WARNING",
    }


class WorkerProcess:
    """One ``headwater worker`` subprocess; its output goes to a log file read back on failure."""

    def __init__(self, database_url: str, log: Path, *, concurrency: int = 2, extra: list[str] | None = None):
        self.log = log
        self._log_handle = log.open("ab")
        self.process = subprocess.Popen(
            [*headwater_command(), "worker", "--concurrency", str(concurrency), *(extra or FAST_RECOVERY)],
            env=worker_env(database_url),
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """``kill -9``: no chance to finish, roll back or unregister."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log_handle.close()
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@contextmanager
def running_workers(
    database_url: str, logs: Path, count: int, **options: Any
) -> Iterator[list[WorkerProcess]]:
    started = [WorkerProcess(database_url, logs / f"worker-{n}.log", **options) for n in range(count)]
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()


def sales_csv(prefix: str, rows: int) -> bytes:
    lines = (f"2024-03-{1 + n % 28:02d},{prefix}-{n},1,9.50,SKU-{n % 97}\n" for n in range(rows))
    return SALES_HEADER + "".join(lines).encode()


async def provision_tenant(runtime: Runtime, name: str = "acme", code: str = "test") -> int:
    async with runtime.db.session() as session:
        tenant = await credentials.create_tenant(session, name)
        await credentials.create_touchpoint(session, runtime.box, tenant.id, code)
        return tenant.id


async def create_sftp_source(
    runtime: Runtime, tenant_id: int, server: SftpEndpoint, directory: str, *, code: str = "test"
) -> int:
    payload = {
        "name": f"sftp {directory}",
        "dataSourceType": "SFTP",
        "authenticationType": "PASSWORD",
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "password": server.password,
        "workingDirectory": directory,
        "processorType": 25011,
        "fileImportType": "PARTY",
        "touchpointCode": code,
        "amountCalculated": True,
    }
    async with runtime.db.session() as session:
        source = await sources.create_pull_source(
            session, tenant_id, payload, runtime.box, hosts=HostPolicy.from_settings(runtime.settings)
        )
        return source.id


def headwater_status(database_url: str) -> dict[str, Any]:
    """What ``headwater status --json`` prints about the queue of ``database_url``."""
    shown = subprocess.run(
        [*headwater_command(), "status", "--json"],
        env=worker_env(database_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer: dict[str, Any] = json.loads(shown.stdout)
    return answer


async def scalar(runtime: Runtime, sql: str, **params: Any) -> Any:
    async with runtime.db.session() as session:
        return await session.scalar(text(sql), params)


async def wait_until(
    check: Callable[[], Awaitable[bool]],
    what: str,
    *,
    timeout: float = 45,
    workers: list[WorkerProcess] | None = None,
    interval: float = 0.05,
) -> None:
    """Poll ``check`` every ``interval`` seconds until it holds; fail with the workers' output once
    ``timeout`` has passed."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- worker {w.pid}\n{w.output()}" for w in workers or [])
            raise AssertionError(f"not reached within {timeout}s: {what}\n{logs}")
        for worker in workers or []:
            if worker.process.poll() not in (None, -signal.SIGKILL):
                raise AssertionError(f"worker {worker.pid} exited early\n{worker.output()}")
        await asyncio.sleep(interval)


def clear_queue(database_url: str) -> None:
    """The queue outlives the per-test truncation of headwater's tables: empty it between tests."""
    with psycopg.connect(libpq_conninfo(database_url), autocommit=True) as connection:
        connection.execute(
            f"TRUNCATE {QUEUE_SCHEMA}.procrastinate_jobs, {QUEUE_SCHEMA}.procrastinate_workers, "
            f"{QUEUE_SCHEMA}.procrastinate_periodic_defers, {QUEUE_SCHEMA}.procrastinate_events CASCADE"
        )


@contextmanager
def emptied_queue_and_tables(database_url: str) -> Iterator[None]:
    """headwater's tables and the queue empty on entry, and emptied again on exit."""
    clear_queue(database_url)
    _truncate_postgres(database_url)
    yield
    clear_queue(database_url)
    _truncate_postgres(database_url)


async def queue_counts(database_url: str) -> dict[str, int]:
    """Jobs in the queue by status (todo, doing, failed, ...)."""
    async with await psycopg.AsyncConnection.connect(
        libpq_conninfo(database_url), autocommit=True
    ) as connection:
        cursor = await connection.execute(
            f"SELECT status::text, count(*) FROM {QUEUE_SCHEMA}.procrastinate_jobs GROUP BY status"
        )
        rows = await cursor.fetchall()
    return {status: int(count) for status, count in rows}
