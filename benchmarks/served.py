"""An app served by uvicorn in a process of its own, for the benchmarks that load headwater over HTTP.

The load generator shares the machine with the server, as an operator's client would not: the
figures are for comparing with the baseline measured in the same run, not absolute.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]


def uvicorn_options(log_level: str) -> list[str]:
    return [
        "--host", "127.0.0.1", "--workers", "1", "--log-level", log_level, "--no-access-log",
        # A busy machine can leave a pooled connection idle past uvicorn's 5 s default, which then
        # closes it under the load generator (httpx.ReadError).
        "--timeout-keep-alive", "60",
    ]  # fmt: skip


def served_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a served headwater: this store, a new key, no imports, then ``settings``
    (``HEADWATER_LOG_LEVEL="ERROR"`` ...); the checkout's code and benchmarks importable."""
    return {
        **os.environ,
        "HEADWATER_DATABASE_URL": database_url,
        "HEADWATER_SECRET_KEY": Fernet.generate_key().decode(),
        "HEADWATER_RUN_IMPORTS": "false",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        **settings,
    }


def add_database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")


def database_url_of(option: str | None, folder: str) -> str:
    """The store ``--database-url`` names, else a SQLite file in the run's temporary ``folder``."""
    return option or f"sqlite+aiosqlite:///{Path(folder) / 'headwater.db'}"


async def integration_headers(
    http: httpx.AsyncClient, client_id: str, secret: str, area_key: str, base: str = ""
) -> dict[str, str]:
    """What an integration API call sends: a client-credentials bearer token and the area key."""
    answer = await http.post(
        f"{base}/oauth2/token",
        auth=httpx.BasicAuth(client_id, secret),
        data={"grant_type": "client_credentials"},
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}", "x-api-key": area_key}


# What the load benchmarks create sources with through /prod: loopback, so that nothing outside is resolved.
FTP_SOURCE = {
    "host": "127.0.0.1",
    "user": "demo",
    "password": "secret",
    "workingDirectory": "/sales",
    "processorType": 25011,
    "authenticationType": "PASSWORD",
    "dataSourceType": "FTP",
    "touchpointCode": "shop",
}


@contextmanager
def serving(
    factory: str, port: int, env: dict[str, str], *, log_level: str, cwd: Path = ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    """``uvicorn --factory FACTORY`` on ``port`` until the block ends."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--port",
        str(port),
        *uvicorn_options(log_level),
    ]
    server = subprocess.Popen(command, env=env, cwd=cwd)
    try:
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)


async def wait_until_up(url: str) -> None:
    """Until ``url`` answers at all."""
    async with httpx.AsyncClient() as http:
        for _ in range(1200):  # a loaded machine may take a while to import the app
            try:
                await http.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")
