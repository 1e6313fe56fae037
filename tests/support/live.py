"""Live servers for tests that need real sockets: an app served by uvicorn in a background thread, or a
``headwater serve`` process of its own."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from starlette.types import ASGIApp

from tests.support.services import free_port


@contextmanager
def serving(app: ASGIApp, *, http: str = "auto") -> Iterator[int]:
    """Serve ``app`` (lifespan included) until the block ends; yields the port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port: int = listener.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level="warning", ws="none", http=http)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join()
        listener.close()


def headwater_command() -> list[str]:
    """The ``headwater`` script installed beside the interpreter running the tests."""
    return [str(Path(sys.executable).with_name("headwater"))]


@dataclass(frozen=True)
class ServeProcess:
    """A running ``headwater serve``: where it answers, the process, and the file its log lines go to."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serve_process(
    env: Mapping[str, str], log: Path, *, cwd: Path | None = None, timeout: float = 60
) -> Iterator[ServeProcess]:
    """``headwater serve`` on a free loopback port until the block ends, once ``/readyz`` answers 200.

    Its standard error (the log) is appended to ``log``, its standard output (the first start's
    instructions) to ``log`` with the suffix ``.stdout``. At the end it is stopped, killed if it lingers;
    a process the block killed itself is left as it is."""
    port = free_port()
    with log.open("ab") as errors, log.with_suffix(".stdout").open("ab") as output:
        process = subprocess.Popen(
            [*headwater_command(), "serve", "--port", str(port)],
            cwd=cwd,
            env=dict(env),
            stdout=output,
            stderr=errors,
        )
    served = ServeProcess(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(served, timeout)
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_ready(served: ServeProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            # A generous answer time: a loaded machine's first check of the store (and Redis) is slow.
            if httpx.get(f"{served.url}/readyz", timeout=10).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if served.process.poll() is not None:
            raise AssertionError(f"headwater serve exited:\n{served.output()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"headwater serve not ready within {timeout}s:\n{served.output()[-3000:]}")
        time.sleep(0.1)
