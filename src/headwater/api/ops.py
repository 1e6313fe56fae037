"""Operations endpoints (``/healthz``, ``/readyz``, ``/metrics``) and the request-counting middleware."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from headwater import health, metrics
from headwater.api.deps import RuntimeDep
from headwater.settings import path_under

router = APIRouter(include_in_schema=False)
# Served by the app itself unless HEADWATER_METRICS_PORT gives /metrics an address of its own.
metrics_router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and answering."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """The process can do its work: the database (and Redis, when configured) answer."""
    state = await health.readiness(runtime)
    return JSONResponse(state.as_dict(), status_code=200 if state.ready else 503)


def _bearer_matches(authorization: str | None, token: str) -> bool:
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@metrics_router.get("/metrics")
async def prometheus_metrics(request: Request) -> Response:
    """The metrics; with HEADWATER_METRICS_TOKEN set, only for ``Authorization: Bearer <token>``."""
    token = request.app.state.settings.metrics_token
    if token is not None and not _bearer_matches(
        request.headers.get("authorization"), token.get_secret_value()
    ):
        return JSONResponse({"detail": "Unauthorized"}, 401, headers={"WWW-Authenticate": "Bearer"})
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)


def dialect_of(path: str, integration_prefix: str) -> str:
    if path_under(path, "/api/v4"):
        return "partner"
    if path_under(path, "/v1"):
        return "chartmogul"
    if path_under(path, integration_prefix) or path_under(path, "/oauth2"):
        return "integration"
    return "ops"


class RequestMetrics:
    """Counts every HTTP request by dialect and status code (pure ASGI: streaming bodies pass untouched)."""

    def __init__(self, app: ASGIApp, integration_prefix: str = "/prod") -> None:
        self.app = app
        self.integration_prefix = integration_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client sees when the app fails before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            dialect = dialect_of(scope["path"], self.integration_prefix)
            metrics.HTTP_REQUESTS.labels(dialect=dialect, status=str(status)).inc()
