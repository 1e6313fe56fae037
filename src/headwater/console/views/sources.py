"""The sources overview, one source's page, and its controls (run now, pause, resume, delete)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from headwater import overview
from headwater.clock import as_utc, iso_millis, utcnow
from headwater.console.views.common import (
    ViewerDep,
    back_to,
    checked_form,
    page,
    read_visible_source,
    runtime_of,
    visible_source,
)
from headwater.overview import Health
from headwater.sources import describe
from headwater.store import imports as import_store
from headwater.store import overview as overview_store
from headwater.store import sources as source_store

router = APIRouter()

RUNS_SHOWN = 20


@router.get("/sources")
async def sources_page(request: Request, viewer: ViewerDep, status: str = "", q: str = "") -> HTMLResponse:
    runtime = runtime_of(request)
    async with runtime.db.session() as session:
        summaries = await overview.summarize(session, viewer.scope)
    wanted = status if status in {health.value for health in Health} else ""
    needle = q.strip().lower()[:200]
    shown = [
        summary
        for summary in summaries
        if (not wanted or summary.health == wanted)
        and (
            not needle
            or needle in summary.source.name.lower()
            or needle in (summary.source.host or "").lower()
        )
    ]
    return page(
        request,
        viewer,
        "sources.html",
        title="Sources",
        summaries=shown,
        total=len(summaries),
        status=wanted,
        q=q[:200],
        statuses=[health.value for health in Health],
    )


@router.get("/sources/{source_id}")
async def source_page(request: Request, viewer: ViewerDep, source_id: int, notice: str = "") -> HTMLResponse:
    runtime = runtime_of(request)
    async with runtime.db.session() as session:
        source = await visible_source(session, viewer, source_id)
        runs = await import_store.list_runs(session, source.tenant_id, source.id, limit=RUNS_SHOWN)
        files = await import_store.list_files(session, source.tenant_id, source.id)
    return page(
        request,
        viewer,
        "source.html",
        title=source.name,
        source=source,
        fields=describe(source),
        health=overview.health_of(source, runs[0] if runs else None),
        runs=runs,
        files=list(reversed(files))[:100],
        notice=notice,
        can_run=runtime.runner is not None,
        poll_interval=runtime.settings.poll_interval,
    )


@router.post("/sources/{source_id}/run")
async def run_now(request: Request, viewer: ViewerDep, source_id: int) -> Response:
    await checked_form(request, viewer)
    runtime = runtime_of(request)
    source = await read_visible_source(request, viewer, source_id)
    if runtime.runner is None or source.data_source_type is None:
        return back_to(f"/sources/{source_id}", "run-unavailable")
    queued = await runtime.runner.request_run(source.tenant_id, source.id, trigger="console")
    return back_to(f"/sources/{source_id}", "run-queued" if queued else "run-already-queued")


async def _set_active(request: Request, viewer: ViewerDep, source_id: int, active: bool) -> Response:
    await checked_form(request, viewer)
    runtime = runtime_of(request)
    async with runtime.db.session() as session:
        source = await visible_source(session, viewer, source_id)
        await source_store.set_status(session, source.tenant_id, source.id, active=active)
    return back_to(f"/sources/{source_id}", "resumed" if active else "paused")


@router.post("/sources/{source_id}/pause")
async def pause(request: Request, viewer: ViewerDep, source_id: int) -> Response:
    return await _set_active(request, viewer, source_id, False)


@router.post("/sources/{source_id}/resume")
async def resume(request: Request, viewer: ViewerDep, source_id: int) -> Response:
    return await _set_active(request, viewer, source_id, True)


@router.get("/sources/{source_id}/delete")
async def confirm_delete(request: Request, viewer: ViewerDep, source_id: int) -> HTMLResponse:
    runtime = runtime_of(request)
    async with runtime.db.session() as session:
        source = await visible_source(session, viewer, source_id)
        files = await import_store.list_files(session, source.tenant_id, source.id)
    return page(
        request, viewer, "confirm_delete.html", title=f"Delete {source.name}", source=source, files=len(files)
    )


@router.post("/sources/{source_id}/delete")
async def delete(request: Request, viewer: ViewerDep, source_id: int) -> Response:
    await checked_form(request, viewer)
    runtime = runtime_of(request)
    async with runtime.db.session() as session:
        source = await visible_source(session, viewer, source_id)
        await source_store.delete(session, source)
    return back_to("/sources", "deleted")


@router.get("/sources/{source_id}/live")
async def live(request: Request, viewer: ViewerDep, source_id: int) -> JSONResponse:
    """What the source page polls while a run is under way: the status and the run's progress so far."""
    runtime = runtime_of(request)
    async with runtime.db.session() as session:
        source = await visible_source(session, viewer, source_id)
        runs = await import_store.list_runs(session, source.tenant_id, source.id, limit=1)
        progress = None
        if runs:
            totals = await overview_store.run_progress(session, source.tenant_id, runs[0].id)
            progress = {
                "runId": runs[0].id,
                "outcome": runs[0].outcome,
                "startedAt": iso_millis(runs[0].started_at),
                # Measured on the server, so that a browser's wrong clock cannot skew the rate.
                "elapsedSeconds": round((utcnow() - as_utc(runs[0].started_at)).total_seconds(), 1)
                if runs[0].started_at
                else None,
                "files": totals.files,
                "rows": totals.rows_ok,
                "rejected": totals.rows_with_errors,
            }
    return JSONResponse({"status": source.status, "active": source.active, "run": progress})
