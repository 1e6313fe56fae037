"""Tiny real HTTP(S) servers on loopback addresses, to aim redirects and DNS answers at.

``TrapServer`` stands for a service only headwater can see (metadata, an internal API): it counts the
requests that reach it. ``RedirectServer`` answers every request with a 307 to a given URL.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    location: str | None = None
    hits: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _answer(self) -> None:
        self.server.hits.append(f"{self.command} {self.path} Host={self.headers.get('Host')}")
        if self.server.location is not None:
            self.send_response(307)
            self.send_header("Location", self.server.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"reached"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        return None


@contextmanager
def http_server(
    address: str = "127.0.0.1",
    port: int = 0,
    *,
    redirect_to: str | None = None,
    certificate: Path | None = None,
) -> Iterator[_Server]:
    """A server on ``address``; ``hits`` lists the requests it answered, ``server_address`` its port."""
    server = _Server((address, port), _Handler)
    server.hits = []
    server.location = redirect_to
    if certificate is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def port_of(server: _Server) -> int:
    return int(server.server_address[1])
