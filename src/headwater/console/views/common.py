"""What every page shares: the viewer, the runtime, CSRF-checked forms, the sources a viewer may see."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from headwater.console.session import PATH, Viewer, check_csrf, current_viewer
from headwater.console.templating import render
from headwater.runtime import Runtime
from headwater.store import sources as source_store
from headwater.store.tables import DataSource

ViewerDep = Annotated[Viewer, Depends(current_viewer)]


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def page(
    request: Request, viewer: Viewer, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    csrf = viewer.csrf_token(runtime_of(request).box)
    return render(request, template, {"viewer": viewer, "csrf": csrf, **context}, status_code)


async def checked_form(request: Request, viewer: Viewer) -> FormData:
    """The posted form, once its CSRF token is the one of the viewer's session."""
    form = await request.form()
    check_csrf(viewer.csrf_token(runtime_of(request).box), form.get("csrf_token"))
    return form


async def visible_source(session: AsyncSession, viewer: Viewer, source_id: int) -> DataSource:
    """The source when the viewer may see it; ``NotFound`` otherwise (never "forbidden": ids do not leak)."""
    if viewer.is_operator:
        return await source_store.get_for_operator(session, source_id)
    assert viewer.tenant_id is not None
    return await source_store.get(session, viewer.tenant_id, source_id, owner_partner_id=viewer.partner_id)


async def read_visible_source(request: Request, viewer: Viewer, source_id: int) -> DataSource:
    """``visible_source`` in a session of its own, for a handler that only reads the source's fields."""
    async with runtime_of(request).db.session() as session:
        return await visible_source(session, viewer, source_id)


def back_to(path: str, notice: str | None = None) -> RedirectResponse:
    target = f"{PATH}{path}" + (f"?notice={notice}" if notice else "")
    return RedirectResponse(target, status_code=303)
