"""Request-body limits, enforced in front of every dialect before the body is read.

A pure ASGI middleware: a declared ``Content-Length`` over the limit is refused at once, without
calling the application or reading a byte of the body; a body without one (chunked) is counted as it
arrives and refused at the first chunk past the limit. Upload routes get the upload limit, every other
route the (small) body limit. The refusal is a 413 in the style of the dialect the path belongs to,
made by that dialect's own function, with ``Connection: close`` so the server stops reading the rest.

A client that goes away before its body has arrived is no failure of ours: the application sees a
``ClientGone``, which no dialect logs as an error, whatever it answers is dropped, and the request is
counted with nginx's 499 ("client closed request").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.formparsers import MultiPartException
from starlette.responses import JSONResponse, Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from headwater.errors import ClientGone, RequestTooLarge
from headwater.logging import get_logger
from headwater.settings import path_under

log = get_logger(__name__)

# The status a request whose client went away is counted with: nginx's "client closed request".
CLIENT_CLOSED_REQUEST = 499

TooLargeAnswer = Callable[[RequestTooLarge], Response]


@dataclass(frozen=True)
class DialectAnswer:
    """How the paths under ``prefix`` answer a body over its limit."""

    prefix: str
    answer: TooLargeAnswer

    def covers(self, path: str) -> bool:
        return path_under(path, self.prefix)


@dataclass(frozen=True)
class UploadRoute:
    """A route whose body is a file: ``path`` is a route template such as ``/prod/dataSources/{id}/importFiles``."""

    method: str
    path: str

    def pattern(self) -> re.Pattern[str]:
        return compile_path(self.path)[0]


class _BodyOverLimit(RequestTooLarge, MultiPartException):
    """Raised into the application by ``receive``: a ``RequestTooLarge`` every dialect knows, and one
    Starlette's multipart parser takes for its own, so that it closes the files it spooled so far."""


class _ClientLeft(ClientGone, MultiPartException):
    """Raised into the application by ``receive`` when the client disconnects; a ``MultiPartException``
    for the same reason as ``_BodyOverLimit``."""


def plain_too_large(exc: RequestTooLarge) -> Response:
    """Paths of no dialect answer as FastAPI does."""
    return JSONResponse({"detail": "Request Entity Too Large"}, status_code=413)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server refuses it before us; count the bytes if it did not
    return None


class BodyLimits:
    def __init__(
        self,
        app: ASGIApp,
        *,
        body_limit: int,
        upload_limit: int,
        uploads: Sequence[UploadRoute],
        dialects: Sequence[DialectAnswer],
    ) -> None:
        self.app = app
        self.body_limit = body_limit
        self.upload_limit = upload_limit
        self.uploads = [(route.method.upper(), route.pattern()) for route in uploads]
        # Longest prefix first, so that ``/oauth2/token`` wins over a shorter prefix that also covers it.
        self.dialects = sorted(dialects, key=lambda dialect: len(dialect.prefix), reverse=True)

    def limit_for(self, method: str, path: str) -> int:
        if any(method == wanted and pattern.match(path) for wanted, pattern in self.uploads):
            return self.upload_limit
        return self.body_limit

    def answer_for(self, path: str) -> TooLargeAnswer:
        for dialect in self.dialects:
            if dialect.covers(path):
                return dialect.answer
        return plain_too_large

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, exc: RequestTooLarge) -> None:
        response = self.answer_for(scope["path"])(exc)
        response.headers["Connection"] = "close"
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, RequestTooLarge(limit))
            return

        received = 0
        refused: RequestTooLarge | None = None
        gone: ClientGone | None = None
        started = False

        async def counted_receive() -> Message:
            nonlocal received, refused, gone
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = _BodyOverLimit(limit)
                    raise refused
            elif message["type"] == "http.disconnect" and not started:
                gone = _ClientLeft()
                raise gone
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused is not None or gone is not None:
                return  # the application's answer to the refusal is replaced by ours, below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if refused is None and gone is None:
                raise
        if started:
            return
        if gone is not None:
            log.info("client_gone", method=scope["method"], path=scope["path"], received_bytes=received)
            await Response(status_code=CLIENT_CLOSED_REQUEST)(scope, receive, send)
        elif refused is not None:
            await self._refuse(scope, receive, send, refused)
