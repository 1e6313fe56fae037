"""A real webhook receiver on loopback: it checks each request's signature with the ``standardwebhooks``
verifier, as a partner's system would, and answers as the test scripts it to."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Received:
    message_id: str
    verified: bool
    payload: dict[str, Any] | None
    answered: int
    # When it arrived (time.time()), for the benchmark's latencies.
    at: float = 0.0

    @property
    def type(self) -> str | None:
        return None if self.payload is None else self.payload.get("type")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    secret: str | None
    script: list[int]
    hold: threading.Event | None
    received: list[Received]
    arrived: list[str]
    lock: threading.Lock


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # Keep-alive, and no Nagle delay between the headers and the body of an answer.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {key: value for key, value in self.headers.items()}
        message_id = headers.get("webhook-id", "")
        with self.server.lock:
            self.server.arrived.append(message_id)
            status = self.server.script.pop(0) if self.server.script else 200
            hold = self.server.hold
        if hold is not None:
            hold.wait(60)  # the sender is killed meanwhile, in the tests that hold
            return
        payload: dict[str, Any] | None = None
        verified = False
        if self.server.secret is not None:
            try:
                payload = Webhook(self.server.secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                payload = json.loads(body)
        with self.server.lock:
            self.server.received.append(Received(message_id, verified, payload, status, time.time()))
        answer = b'{"ok": true}' if status < 300 else b"receiver error"
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        return None


class Receiver:
    def __init__(self, server: _Server) -> None:
        self._server = server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def expect_secret(self, secret: str) -> None:
        self._server.secret = secret

    def answer(self, *statuses: int) -> None:
        """The next requests are answered with these statuses, then 200."""
        with self._server.lock:
            self._server.script.extend(statuses)

    def hold_requests(self, hold: bool) -> None:
        """Keep requests open without an answer (a sender killed mid-delivery), or stop doing so."""
        with self._server.lock:
            if hold:
                self._server.hold = threading.Event()
            elif self._server.hold is not None:
                self._server.hold.set()
                self._server.hold = None

    @property
    def received(self) -> list[Received]:
        with self._server.lock:
            return list(self._server.received)

    @property
    def arrived(self) -> list[str]:
        """The webhook-id of every request that reached the receiver, answered or not."""
        with self._server.lock:
            return list(self._server.arrived)

    def delivered(self) -> list[Received]:
        """The requests answered 2xx."""
        return [r for r in self.received if 200 <= r.answered < 300]

    async def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """Until ``count`` requests were answered 2xx."""
        deadline = time.monotonic() + timeout
        while len(self.delivered()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.delivered())} of {count} deliveries within {timeout}s")
            await asyncio.sleep(0.02)
        return self.delivered()


@contextmanager
def webhook_receiver(port: int = 0) -> Iterator[Receiver]:
    server = _Server(("127.0.0.1", port), _Handler)
    server.secret = None
    server.script = []
    server.hold = None
    server.received = []
    server.arrived = []
    server.lock = threading.Lock()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    receiver = Receiver(server)
    try:
        yield receiver
    finally:
        receiver.hold_requests(False)
        server.shutdown()
        server.server_close()
        thread.join(5)
