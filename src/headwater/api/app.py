"""The ASGI application: every dialect over one runtime, opened in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from headwater import __version__
from headwater.api import chartmogul, integration, ops, partner, partner_controls, partner_imports
from headwater.jobs.select import make_runner
from headwater.runtime import open_runtime
from headwater.settings import Settings


def create_app(settings: Settings, *, migrate_on_start: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(settings, migrate_first=migrate_on_start) as runtime:
            app.state.runtime = runtime
            integration_app.state.runtime = runtime
            if settings.run_imports:
                runtime.runner = make_runner(runtime)
                await runtime.runner.start()
            try:
                yield
            finally:
                if runtime.runner is not None:
                    await runtime.runner.stop()

    app = FastAPI(
        title="headwater",
        version=__version__,
        description="Data-source hub: the partner API (/api/v4) and the data sources API (/v1).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.include_router(partner.router)
    app.include_router(partner_imports.router)
    app.include_router(partner_controls.router)
    app.include_router(partner.fallback_router)
    app.include_router(chartmogul.router)
    app.include_router(integration.oauth_router)
    app.include_router(ops.router)
    app.add_middleware(ops.RequestMetrics, integration_prefix=settings.integration_prefix)
    integration_app = integration.create_app(settings)
    app.mount(settings.integration_prefix, integration_app)
    return app
