"""The OpenAPI documents (``/openapi.json``, ``/prod/openapi.json``) and Swagger UI for ``/docs`` and
``/prod/docs``, served from headwater itself.

FastAPI's default page loads Swagger UI from a CDN, which leaves the page blank on a machine without
internet access. The assets come from the ``swagger-ui-py`` package (Swagger UI 5, which reads the
OpenAPI 3.1 documents FastAPI writes) and are served under ``/docs-assets``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import swagger_ui
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/docs-assets"
_ASSETS_DIR = Path(swagger_ui.__file__).parent / "static"


def openapi_builder(app: FastAPI, finish: Callable[[dict[str, Any]], None]) -> Callable[[], dict[str, Any]]:
    """``app.openapi``: FastAPI's description of ``app`` completed by ``finish``, written at the first
    call and kept."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                servers=app.servers,
            )
            finish(document)
            app.openapi_schema = document
        return app.openapi_schema

    return build


def mount_assets(app: FastAPI) -> None:
    """Serve the Swagger UI files once, from the root application."""
    app.mount(ASSETS_PATH, StaticFiles(directory=_ASSETS_DIR), name="docs-assets")


def add_docs_page(app: FastAPI, *, openapi_url: str, title: str) -> None:
    """``/docs`` of ``app`` (a sub-application answers it under its own prefix) with local assets."""
    redirect = "/docs/oauth2-redirect"
    mounted_at = openapi_url.rsplit("/", 1)[0]  # "" for the root app, "/prod" for the integration API

    @app.get("/docs", include_in_schema=False)
    async def swagger_page() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} — API documentation",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
            oauth2_redirect_url=mounted_at + redirect,
        )

    @app.get(redirect, include_in_schema=False)
    async def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
