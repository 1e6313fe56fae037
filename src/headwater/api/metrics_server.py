"""``/metrics`` on an address of its own (``HEADWATER_METRICS_HOST``/``HEADWATER_METRICS_PORT``).

A small second HTTP server in the same process, opened and closed with the app's lifespan, so that the
metrics can stay on an internal interface while the APIs face partners. ``HEADWATER_METRICS_TOKEN``
applies here as well.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import uvicorn
from fastapi import FastAPI

from headwater.api import ops
from headwater.errors import ConfigurationError
from headwater.settings import Settings


def metrics_app(settings: Settings) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.include_router(ops.metrics_router)
    return app


class _SecondServer(uvicorn.Server):
    """Leaves signals to the API server, whose lifespan stops this one."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def serving_metrics(settings: Settings) -> AsyncIterator[tuple[str, int] | None]:
    """Serves ``/metrics`` on its own address while the block runs; yields that address (None: not asked for)."""
    if settings.metrics_port is None:
        yield None
        return
    host = settings.metrics_host or settings.host
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        listener = socket.create_server((host, settings.metrics_port), family=family)
    except OSError as exc:
        raise ConfigurationError(f"cannot serve metrics on {host}:{settings.metrics_port}: {exc}") from exc
    config = uvicorn.Config(metrics_app(settings), lifespan="off", log_config=None, access_log=False)
    server = _SecondServer(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            if task.done():
                task.result()  # its failure, if it failed
                raise ConfigurationError("the metrics server stopped at start-up")
            await asyncio.sleep(0.01)
        address: tuple[str, int] = listener.getsockname()[:2]
        yield address
    finally:
        server.should_exit = True
        await task
        listener.close()
