"""Workers that take runs from the PostgreSQL queue: ``headwater worker`` processes, and the worker that
``headwater serve`` runs in-process so that one machine on PostgreSQL imports without anything else.

On a stop the worker takes no new job and lets runs under way finish for ``shutdown_timeout`` seconds;
a run still going then is cancelled (its current file rolls back) and goes back to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from typing import Protocol

from procrastinate import App
from procrastinate.worker import Worker

from headwater.ingest.jobs.distributed import ProcrastinateRunner
from headwater.ingest.jobs.queue import QUEUE, WorkerTuning, recover_stalled_jobs
from headwater.ingest.jobs.tasks import build_app
from headwater.logging import get_logger
from headwater.runtime import Runtime, open_runtime
from headwater.settings import Settings
from headwater.webhooks.delivery import DeliveryLoop

log = get_logger(__name__)


def _pool_size(concurrency: int) -> int:
    # Every running job holds a connection now and then; listening and heartbeats need two more.
    return concurrency + 3


async def work_queue(
    runtime: Runtime,
    app: App,
    *,
    concurrency: int,
    tuning: WorkerTuning,
    shutdown_timeout: float,
    signals: SignalStop | None = None,
) -> None:
    """Take runs from the queue with an open ``app`` until cancelled or, given ``signals``, stopped by one."""
    recovery = asyncio.create_task(_recover_while_running(app, tuning), name="stalled-job recovery")
    # Each worker also sends webhooks; leases keep two workers from sending one delivery together.
    webhooks = DeliveryLoop(runtime, release_leases=False)
    await webhooks.start()
    try:
        queue_worker: QueueWorker = Worker(
            app=app,
            queues=[QUEUE],
            name=f"{socket.gethostname()}-{os.getpid()}",
            concurrency=concurrency,
            # Woken by the queue's NOTIFY when a job is deferred: "run now" starts now, not at the next poll.
            listen_notify=True,
            fetch_job_polling_interval=tuning.fetch_interval,
            additional_context={"runtime": runtime, "tuning": tuning},
            update_heartbeat_interval=tuning.heartbeat_interval,
            stalled_worker_timeout=tuning.stalled_after,
            shutdown_graceful_timeout=shutdown_timeout,
            # headwater's runs table keeps the history; the queue keeps only what needs attention.
            delete_jobs="successful",
            # Signals are ours (``SignalStop``) or the server's, which cancels this task.
            install_signal_handlers=False,
        )
        if signals is not None and not signals.hand_to(queue_worker):
            return
        await queue_worker.run()
    finally:
        recovery.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await recovery
        await webhooks.stop()


class QueueWorker(Protocol):
    """What headwater uses of procrastinate's worker (whose methods carry no type hints)."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


class SignalStop:
    """SIGTERM and SIGINT for ``headwater worker``, handled from its first instant.

    procrastinate's own handlers come only once its worker loop runs, after the worker has registered in
    the queue: a signal in between ended the process without unregistering. Here a signal while the
    process starts cancels the start; once the queue's worker exists, it is asked to stop as its own
    handlers would (runs under way get the shutdown timeout, then go back to the queue). The handlers
    are removed at the first signal, so that a second one ends the process at once."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested = False
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._worker: QueueWorker | None = None

    def __enter__(self) -> SignalStop:
        for number in self.SIGNALS:
            self._loop.add_signal_handler(number, self._on_signal)
        return self

    def __exit__(self, *_: object) -> None:
        self._remove_handlers()

    def hand_to(self, queue_worker: QueueWorker) -> bool:
        """From now on a signal stops ``queue_worker``; False when one already came (do not start it)."""
        self._worker = queue_worker
        return not self.requested

    def _on_signal(self) -> None:
        self._remove_handlers()
        self.requested = True
        log.info("stopping: runs under way may finish; a second signal stops at once")
        if self._worker is not None:
            self._worker.stop()
        elif self._task is not None:
            self._task.cancel()

    def _remove_handlers(self) -> None:
        for number in self.SIGNALS:
            self._loop.remove_signal_handler(number)


async def run_worker(
    settings: Settings,
    *,
    concurrency: int = 2,
    tuning: WorkerTuning | None = None,
    shutdown_timeout: float = 30.0,
) -> None:
    """``headwater worker``: take runs from the queue until SIGTERM or SIGINT (see ``SignalStop``); a
    worker stopped while it starts exits with status 0 too."""
    with SignalStop() as signals:
        try:
            # A worker never creates a store or a key: it must find the installation serve or migrate made.
            async with open_runtime(settings, create=False) as runtime:
                app = build_app(settings, pool_size=_pool_size(concurrency))
                async with app.open_async():
                    runtime.runner = ProcrastinateRunner(runtime, app=app)
                    await work_queue(
                        runtime,
                        app,
                        concurrency=concurrency,
                        tuning=tuning or WorkerTuning(),
                        shutdown_timeout=shutdown_timeout,
                        signals=signals,
                    )
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not signals.requested or current is None:
                raise
            current.uncancel()


class ServingWorkerRunner(ProcrastinateRunner):
    """The runner of ``headwater serve`` on PostgreSQL: it queues runs like any API process and also
    takes them, ``concurrency`` at a time, beside any ``headwater worker`` processes."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        concurrency: int,
        shutdown_timeout: float = 30.0,
        tuning: WorkerTuning | None = None,
    ) -> None:
        super().__init__(runtime, app=build_app(runtime.settings, pool_size=_pool_size(concurrency)))
        self._open = False
        self._concurrency = concurrency
        self._tuning = tuning or WorkerTuning()
        self._shutdown_timeout = shutdown_timeout
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._open:
            return
        await self.app.open_async()
        self._open = True
        self._task = asyncio.create_task(
            work_queue(
                self.runtime,
                self.app,
                concurrency=self._concurrency,
                tuning=self._tuning,
                shutdown_timeout=self._shutdown_timeout,
            ),
            name="in-process worker",
        )
        self._task.add_done_callback(_log_unexpected_end)
        log.info("in-process worker started", concurrency=self._concurrency)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._open:
            await self.app.close_async()
            self._open = False


def _log_unexpected_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the in-process worker stopped", exc_info=task.exception())


async def _recover_while_running(app: App, tuning: WorkerTuning) -> None:
    """Besides the periodic job, each worker looks for dead workers' jobs at every heartbeat, so a
    crash costs ``stalled_after`` seconds rather than up to a minute more."""
    while True:
        await asyncio.sleep(tuning.heartbeat_interval)
        try:
            await recover_stalled_jobs(app, stalled_after=tuning.stalled_after)
        except Exception:
            log.error("stalled-job recovery failed", exc_info=True)
