"""What an oversized request body costs the server: CPU seconds, peak RSS and time to the answer.

    .venv/bin/python benchmarks/request_limits.py [--form-mb 20] [--json-mb 100] [--upload-mb 50]
        [--upload-limit-mb 10] [--source OTHER_CHECKOUT/src]

Serves headwater with uvicorn in a process of its own (SQLite in a temporary folder; the code under
``--source`` when given, e.g. an older checkout, to measure "before") and sends, over a raw loopback
socket, four bodies: a 1 MB form of tiny fields (the most the default limit lets through) and a form of ``--form-mb``
MB of tiny fields to ``POST /oauth2/token``, a JSON object holding an array of ``--json-mb`` MB of zeros
to ``POST /v1/data_sources`` (with a valid API key, so that the body is read) and a multipart upload
of ``--upload-mb`` MB to ``POST /api/v4/import/file`` with ``HEADWATER_MAX_UPLOAD_SIZE`` at
``--upload-limit-mb`` MB. The client stops sending as soon as an answer arrives, as curl does. For each
it prints the status, the bytes the client got to send, the server's CPU seconds and peak RSS, and the
seconds to the answer. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
SEND_CHUNK = 256 * 1024


# --- provisioning, run with the served code's own headwater -------------------------------------


async def _provision() -> dict[str, Any]:
    from headwater.access import apikeys, credentials
    from headwater.runtime import open_runtime
    from headwater.settings import Settings

    async with open_runtime(Settings()) as runtime, runtime.db.session() as session:
        tenant = await credentials.create_tenant(session, "bench")
        touchpoint = await credentials.create_touchpoint(session, runtime.box, tenant.id, "REST01")
        partner = await credentials.create_partner(session, tenant.id, "partner@bench.example")
        key = await apikeys.issue(session, runtime.box, tenant.id)
        return {
            "touchpoint": "REST01",
            "token": touchpoint.token,
            "principal": partner.partner.principal,
            "password": partner.generated_password,
            "api_key": key.key,
        }


def served_app() -> Any:
    """uvicorn factory: headwater (whichever ``PYTHONPATH`` names) configured from HEADWATER_* variables."""
    from headwater.api.app import create_app
    from headwater.settings import Settings

    return create_app(Settings())


# --- the client: a raw socket that stops sending once the server has answered -----------------


@dataclass
class Outcome:
    status: int | None
    sent: int
    seconds: float


def send(port: int, head: str, body: bytes) -> Outcome:
    started = time.perf_counter()
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=600) as sock:
        sock.sendall(head.encode() + f"Content-Length: {len(body)}\r\nHost: bench\r\n\r\n".encode())
        try:
            while sent < len(body):
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break  # answered early: a client stops sending here
                sent += sock.send(body[sent : sent + SEND_CHUNK])
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            first_line = sock.makefile("rb").readline().decode("latin-1")
            status: int | None = int(first_line.split()[1])
        except (OSError, IndexError, ValueError):
            status = None
    return Outcome(status, sent, time.perf_counter() - started)


class Watch:
    """The server process's CPU seconds and peak RSS while a request runs."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self) -> Watch:
        times = self.process.cpu_times()
        self.cpu_before = times.user + times.system
        self.peak = self.process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *_: object) -> None:
        time.sleep(0.5)  # the server may still be busy with what it received
        self._stop.set()
        self._thread.join()
        times = self.process.cpu_times()
        self.cpu = times.user + times.system - self.cpu_before


def wait_until_up(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server did not start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--form-mb", type=int, default=20)
    parser.add_argument("--json-mb", type=int, default=100)
    parser.add_argument("--upload-mb", type=int, default=50)
    parser.add_argument("--upload-limit-mb", type=int, default=10)
    parser.add_argument("--source", type=Path, default=ROOT / "src", help="the headwater code to serve")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-limits-") as folder:
        env = {
            **os.environ,
            "PYTHONPATH": str(args.source.resolve()),
            "HEADWATER_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/headwater.db",
            "HEADWATER_SECRET_KEY": Fernet.generate_key().decode(),
            "HEADWATER_RUN_IMPORTS": "false",
            "HEADWATER_MAX_UPLOAD_SIZE": str(args.upload_limit_mb * MB),
            "HEADWATER_TEMP_DIRECTORY": folder,
        }
        provisioned = subprocess.run(
            [sys.executable, __file__, "--provision"], env=env, check=True, capture_output=True, text=True
        )
        who = json.loads(provisioned.stdout.strip().splitlines()[-1])
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "--factory", "request_limits:served_app"),
                *("--port", str(port), "--app-dir", str(Path(__file__).parent)),
                *("--log-level", "warning", "--no-access-log"),
            ],
            env=env,
        )
        try:
            wait_until_up(port, server)
            basic = base64.b64encode(f"{who['api_key']}:".encode()).decode()
            partner = base64.b64encode(f"{who['principal']}:{who['password']}".encode()).decode()
            boundary = "benchboundary"
            upload = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'.encode()
                + b"stockDate,quantity,partnerSkuCode\n"
                + b"2024-01-05,1,SKU\n" * (args.upload_mb * MB // 17)
                + f"\r\n--{boundary}--\r\n".encode()
            )
            cases = [
                (
                    "1 MB form (4-byte fields, under the limit) to /oauth2/token",
                    "POST /oauth2/token HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n",
                    b"grant_type=client_credentials" + b"&a=b" * (MB // 4 - 10),
                ),
                (
                    f"{args.form_mb} MB form (4-byte fields) to /oauth2/token",
                    "POST /oauth2/token HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n",
                    b"grant_type=client_credentials" + b"&a=b" * (args.form_mb * MB // 4),
                ),
                (
                    f"{args.json_mb} MB JSON (an array of zeros) to /v1/data_sources",
                    f"POST /v1/data_sources HTTP/1.1\r\nContent-Type: application/json\r\n"
                    f"Authorization: Basic {basic}\r\n",
                    b'{"name": "big", "pad": [0' + b",0" * (args.json_mb * MB // 2) + b"]}",
                ),
                (
                    f"{len(upload) // MB} MB upload to /api/v4/import/file (limit {args.upload_limit_mb} MB)",
                    f"POST /api/v4/import/file?type=25012 HTTP/1.1\r\n"
                    f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                    f"Thalamus-Touchpoint: {who['touchpoint']}\r\nThalamus-Token: {who['token']}\r\n"
                    f"Authorization: Basic {partner}\r\n",
                    upload,
                ),
            ]
            print(f"serving {args.source}")
            print(f"{'request':<62} {'status':>6} {'sent MB':>8} {'CPU s':>7} {'peak RSS MB':>12} {'answer s':>9}")
            for title, head, body in cases:
                with Watch(server.pid) as watch:
                    outcome = send(port, head, body)
                print(
                    f"{title:<62} {outcome.status!s:>6} {outcome.sent / MB:>8.1f} {watch.cpu:>7.2f} "
                    f"{watch.peak / MB:>12.0f} {outcome.seconds:>9.2f}"
                )
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    if sys.argv[1:] == ["--provision"]:
        print(json.dumps(asyncio.run(_provision())))
    else:
        main()
