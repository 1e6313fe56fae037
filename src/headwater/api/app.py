"""The ASGI application: every dialect over one runtime, opened in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from headwater import __version__, console
from headwater.api import (
    chartmogul,
    dialect_openapi,
    docs,
    integration,
    oauth_token,
    ops,
    partner,
    partner_controls,
    partner_imports,
    partner_webhooks,
)
from headwater.api.limits import BodyLimits, DialectAnswer, UploadRoute
from headwater.api.metrics_server import serving_metrics
from headwater.ingest.jobs.select import make_runner
from headwater.runtime import open_runtime
from headwater.settings import Settings


def create_app(settings: Settings, *, migrate_on_start: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            open_runtime(settings, migrate_first=migrate_on_start) as runtime,
            serving_metrics(settings) as metrics_address,
            runtime.serving(),
        ):
            app.state.runtime = runtime
            app.state.metrics_address = metrics_address
            integration_app.state.runtime = runtime
            console_app.state.runtime = runtime
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
        docs_url=None,
        redoc_url=None,
    )
    docs.mount_assets(app)
    docs.add_docs_page(app, openapi_url="/openapi.json", title="headwater")
    app.state.settings = settings
    app.openapi = docs.openapi_builder(app, dialect_openapi.describe_answers)  # type: ignore[method-assign]
    # Mounted before the routers: routes are matched in order, and a request to the integration API or
    # the console would otherwise be tried against every route of the other dialects first.
    integration_app = integration.create_app(settings)
    app.mount(settings.integration_prefix, integration_app)
    console_app = console.create_app()
    app.mount("/console", console_app)
    app.include_router(partner.router)
    app.include_router(partner_imports.router)
    app.include_router(partner_controls.router)
    app.include_router(partner_webhooks.router)
    app.include_router(partner.fallback_router)
    app.include_router(chartmogul.router)
    app.include_router(integration.oauth_router)
    app.include_router(ops.router)
    if settings.metrics_port is None:
        app.include_router(ops.metrics_router)
    app.add_middleware(
        BodyLimits,
        body_limit=settings.max_body_size,
        upload_limit=settings.upload_limit,
        uploads=[
            UploadRoute("POST", partner_imports.UPLOAD_PATH),
            UploadRoute("POST", settings.integration_prefix + integration.UPLOAD_PATH),
            UploadRoute("POST", console.UPLOAD_PATH),
        ],
        dialects=[
            DialectAnswer(partner.PREFIX, partner.too_large),
            DialectAnswer("/v1", chartmogul.too_large),
            DialectAnswer(settings.integration_prefix, integration.too_large),
            DialectAnswer(oauth_token.TOKEN_PATH, oauth_token.too_large),
        ],
    )
    # Added last, so outermost: it also counts the refusals of the middleware above.
    app.add_middleware(ops.RequestMetrics, integration_prefix=settings.integration_prefix)

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=307)

    return app
