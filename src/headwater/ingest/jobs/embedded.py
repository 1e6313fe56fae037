"""The embedded runner: polls due sources and runs them inside the ``serve`` process."""

from __future__ import annotations

import asyncio
import contextlib

from headwater.errors import HeadwaterError
from headwater.ingest.pipeline import discard_abandoned_imports
from headwater.logging import get_logger
from headwater.runtime import Runtime
from headwater.store import imports as ledger_store
from headwater.webhooks.delivery import DeliveryLoop

log = get_logger(__name__)


class EmbeddedRunner:
    """At most ``max_concurrent_runs`` runs at once, never two of one source."""

    def __init__(self, runtime: Runtime, *, tick_seconds: float | None = None) -> None:
        self.runtime = runtime
        self._slots = asyncio.Semaphore(runtime.settings.max_concurrent_runs)
        self._running: dict[int, asyncio.Task[None]] = {}
        self._tick = tick_seconds if tick_seconds is not None else min(runtime.settings.poll_interval, 60.0)
        self._poller: asyncio.Task[None] | None = None
        self._webhooks: DeliveryLoop | None = None

    async def start(self) -> None:
        async with self.runtime.db.session() as session:
            await ledger_store.reset_working(session)
            await ledger_store.close_abandoned_runs(session)
        # Likewise no file of an earlier process is still importing (uploads included).
        await discard_abandoned_imports(self.runtime)
        self._poller = asyncio.create_task(self._poll(), name="headwater-poller")
        # The only process on the store: deliveries another one leased died with it.
        self._webhooks = DeliveryLoop(self.runtime, release_leases=True)
        await self._webhooks.start()

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()  # the file under way rolls back and is imported again next time
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._webhooks is not None:
            await self._webhooks.stop()
            self._webhooks = None

    async def request_run(
        self, tenant_id: int, source_id: int, *, trigger: str = "manual", run_id: int | None = None
    ) -> bool:
        if source_id in self._running:
            return False
        self._running[source_id] = asyncio.create_task(
            self._run(tenant_id, source_id, trigger, run_id), name=f"headwater-run-{source_id}"
        )
        return True

    def is_running(self, source_id: int) -> bool:
        return source_id in self._running

    async def wait_idle(self) -> None:
        """Until no run is under way (for the CLI and tests)."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def _run(self, tenant_id: int, source_id: int, trigger: str, run_id: int | None) -> None:
        from headwater.ingest.imports import run_source

        try:
            async with self._slots:
                await run_source(self.runtime, tenant_id, source_id, trigger=trigger, run_id=run_id)
        except HeadwaterError as exc:
            log.warning("run not started", source_id=source_id, error=exc.message)
        except Exception:
            log.error("run crashed", source_id=source_id, exc_info=True)
        finally:
            self._running.pop(source_id, None)

    async def _poll(self) -> None:
        from headwater.ingest.imports import due_sources

        while True:
            try:
                for tenant_id, source_id in await due_sources(self.runtime):
                    await self.request_run(tenant_id, source_id, trigger="schedule")
            except Exception:
                log.error("polling for due sources failed", exc_info=True)
            await asyncio.sleep(self._tick)
