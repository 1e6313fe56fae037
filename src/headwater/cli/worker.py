"""``headwater worker`` (take import runs from the PostgreSQL queue) and ``headwater status`` (the queue)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from headwater.cli.common import (
    DatabaseUrlOption,
    JsonOption,
    console,
    emit_rows,
    exit_on_error,
    fail,
    run_or_fail,
    settings_or_fail,
)
from headwater.errors import NotFound

if TYPE_CHECKING:
    from headwater.ingest.jobs.queue_health import QueueHealth
    from headwater.runtime import Runtime
    from headwater.settings import Settings

NOT_DISTRIBUTED = "the job queue needs PostgreSQL: set HEADWATER_DATABASE_URL=postgresql+asyncpg://…"


def _queue_settings(database_url: str | None, as_json: bool = False) -> Settings:
    settings = settings_or_fail(database_url, as_json)
    if not settings.is_postgres:
        raise fail(NOT_DISTRIBUTED, as_json, exit_code=2)
    return settings


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        concurrency: Annotated[
            int,
            typer.Option(metavar="N", min=1, help="Runs this process does at once (one per source at most)."),
        ] = 2,
        database_url: DatabaseUrlOption = None,
        heartbeat_interval: Annotated[
            float, typer.Option(metavar="SECONDS", min=0.1, help="Seconds between this worker's heartbeats.")
        ] = 10.0,
        stalled_after: Annotated[
            float,
            typer.Option(
                metavar="SECONDS",
                min=0.5,
                help="Seconds of silence after which a worker's runs go back to the queue.",
            ),
        ] = 60.0,
        shutdown_timeout: Annotated[
            float,
            typer.Option(
                metavar="SECONDS",
                min=0,
                help="On SIGTERM, seconds to let runs finish before they are requeued.",
            ),
        ] = 30.0,
        metrics_port: Annotated[
            int | None,
            typer.Option(
                metavar="PORT",
                help="Serve Prometheus metrics of this worker on this port (HEADWATER_METRICS_TOKEN applies).",
                show_default=False,
            ),
        ] = None,
    ) -> None:
        """Take import runs from the queue until SIGTERM (distributed mode)."""
        import asyncio

        from headwater.ingest.jobs.queue import WorkerTuning
        from headwater.ingest.jobs.worker import run_worker
        from headwater.logging import configure_logging

        settings = _queue_settings(database_url)
        configure_logging(settings)
        if heartbeat_interval >= stalled_after:
            raise fail("--stalled-after must be longer than --heartbeat-interval", False, exit_code=2)
        tuning = WorkerTuning(heartbeat_interval=heartbeat_interval, stalled_after=stalled_after)

        async def work() -> None:
            from headwater.api.metrics_server import serving_metrics

            # The same server as serve's own: HEADWATER_METRICS_HOST and HEADWATER_METRICS_TOKEN apply.
            async with serving_metrics(settings.model_copy(update={"metrics_port": metrics_port})):
                await run_worker(
                    settings, concurrency=concurrency, tuning=tuning, shutdown_timeout=shutdown_timeout
                )

        with exit_on_error(as_json=False):
            asyncio.run(work())

    @app.command()
    def status(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
        """The job queue: pending, running and failed runs per source."""
        from headwater.logging import configure_logging
        from headwater.store import sources as source_store

        settings = _queue_settings(database_url, as_json)
        configure_logging(settings.model_copy(update={"log_level": "WARNING"}))

        async def work(runtime: Runtime) -> tuple[list[dict[str, Any]], QueueHealth | None]:
            from headwater.ingest.jobs.queue import queue_status
            from headwater.ingest.jobs.queue_health import queue_health
            from headwater.ingest.jobs.tasks import build_app

            async with build_app(runtime.settings, pool_size=2).open_async() as queue:
                entries = await queue_status(queue)
            rows: list[dict[str, Any]] = []
            async with runtime.db.session() as session:
                for entry in entries:
                    try:
                        name: str | None = (
                            await source_store.get_for_operator(session, entry.source_id)
                        ).name
                    except NotFound:
                        name = None  # deleted since its run was queued
                    rows.append(
                        {
                            "sourceId": entry.source_id,
                            "tenantId": entry.tenant_id,
                            "name": name,
                            "pending": entry.pending,
                            "running": entry.running,
                            "failed": entry.failed,
                        }
                    )
            return rows, await queue_health(runtime)

        rows, health = run_or_fail(settings, work, as_json)
        queue = health.as_dict() if health is not None else None
        if as_json:
            sys.stdout.write(json.dumps({"sources": rows, "queue": queue}) + "\n")
            return
        emit_rows("sources", rows, as_json, title="job queue")
        if health is not None:
            colour = "red" if health.stalled else "green"
            console().print(f"[{colour}]{health.message}[/{colour}]")
