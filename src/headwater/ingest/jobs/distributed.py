"""The runner port over the job queue (distributed mode): ``request_run`` only enqueues; workers
(``jobs/worker.py``) do the runs."""

from __future__ import annotations

from procrastinate import App

from headwater.ingest.jobs.queue import defer_run
from headwater.ingest.jobs.tasks import build_app
from headwater.runtime import Runtime


class ProcrastinateRunner:
    """The runner port over the queue: ``request_run`` only enqueues; workers do the runs."""

    def __init__(self, runtime: Runtime, *, app: App | None = None) -> None:
        self.runtime = runtime
        self._owns_app = app is None
        self.app = app if app is not None else build_app(runtime.settings)
        self._open = not self._owns_app

    async def start(self) -> None:
        if not self._open:
            await self.app.open_async()
            self._open = True

    async def stop(self) -> None:
        if self._open and self._owns_app:
            await self.app.close_async()
            self._open = False

    async def request_run(
        self, tenant_id: int, source_id: int, *, trigger: str = "manual", run_id: int | None = None
    ) -> bool:
        await self.start()
        return await defer_run(self.app, tenant_id, source_id, trigger, run_id=run_id)
