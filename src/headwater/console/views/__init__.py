"""The console's pages, one module per subject."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from headwater.console.views import (
        charts,
        controls,
        credentials,
        files,
        queue,
        records,
        settings,
        signin,
        sources,
        tenants,
        upload,
        webhooks,
    )

    # settings before sources: /sources/new must not be taken for a source id.
    return [
        signin.router,
        settings.router,
        sources.router,
        controls.router,
        files.router,
        records.router,
        charts.router,
        tenants.router,
        credentials.router,
        queue.router,
        upload.router,
        webhooks.router,
    ]
