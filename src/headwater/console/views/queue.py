"""Operators only: the job queue and the workers (distributed mode), or the in-process runner."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from headwater.console.views.common import ViewerDep, page, runtime_of
from headwater.errors import NotFound

router = APIRouter()


@router.get("/queue")
async def queue_page(request: Request, viewer: ViewerDep) -> HTMLResponse:
    if not viewer.is_operator:
        raise NotFound("page")
    runtime = runtime_of(request)
    health = None
    entries = []
    if runtime.settings.distributed:
        from headwater.ingest.jobs.distributed import ProcrastinateRunner
        from headwater.ingest.jobs.queue import queue_status
        from headwater.ingest.jobs.queue_health import queue_health

        health = await queue_health(runtime)
        if isinstance(runtime.runner, ProcrastinateRunner):
            await runtime.runner.start()
            entries = await queue_status(runtime.runner.app)
    return page(
        request,
        viewer,
        "queue.html",
        title="Queue",
        nav="queue",
        distributed=runtime.settings.distributed,
        health=health,
        entries=entries,
        runs_imports=runtime.runner is not None,
    )
