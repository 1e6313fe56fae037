"""The console's pages, one module per subject."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from headwater.console.views import files, signin, sources, tenants

    return [signin.router, sources.router, files.router, tenants.router]
