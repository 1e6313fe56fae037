"""``headwater run SOURCE_ID``: import one source now, with a progress bar and a summary table."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from headwater.cli.common import DatabaseUrlOption, JsonOption, console, run_or_fail, settings_or_fail

if TYPE_CHECKING:
    from headwater.ingest.imports import RunSummary
    from headwater.runtime import Runtime


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        source_id: Annotated[int, typer.Argument(metavar="SOURCE_ID", help="The data source's id.")],
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Import one source now and print what each file gave."""
        from headwater.cli.run_progress import RunProgress
        from headwater.domain import RunOutcome
        from headwater.ingest.imports import run_source
        from headwater.logging import configure_logging
        from headwater.store import sources as source_store

        settings = settings_or_fail(database_url, as_json)
        configure_logging(settings.model_copy(update={"log_level": "WARNING"}))

        async def work(runtime: Runtime) -> RunSummary:
            async with runtime.db.session() as session:
                source = await source_store.get_for_operator(session, source_id)
            if as_json:
                return await run_source(runtime, source.tenant_id, source.id, trigger="cli")
            with RunProgress(f"source {source_id}") as shown:
                return await run_source(
                    runtime, source.tenant_id, source.id, trigger="cli", progress=shown.on_event
                )

        summary = run_or_fail(settings, work, as_json)
        if as_json:
            sys.stdout.write(json.dumps(_as_dict(summary)) + "\n")
        else:
            _print_summary(summary)
        if summary.outcome == RunOutcome.FAILED:
            raise typer.Exit(1)


def _as_dict(summary: RunSummary) -> dict[str, Any]:
    return {
        "runId": summary.run_id,
        "sourceId": summary.source_id,
        "outcome": summary.outcome,
        "message": summary.message,
        "filesSeen": summary.files_seen,
        "files": [
            {
                "path": f.path,
                "state": f.state,
                "fileId": f.file_id,
                "rows": f.rows,
                "rowsOk": f.rows_ok,
                "rowsWithErrors": f.rows_with_errors,
                "rowsSkipped": f.rows_skipped,
                "rowsRollbacked": f.rows_rollbacked,
                "error": f.error,
            }
            for f in summary.files
        ],
    }


def _print_summary(summary: RunSummary) -> None:
    from rich.table import Table

    table = Table(title=f"run {summary.run_id} of source {summary.source_id}: {summary.outcome}")
    for column in ("file", "state", "rows", "ok", "errors", "skipped", "rolled back", "note"):
        table.add_column(column)
    for f in summary.files:
        table.add_row(
            f.path,
            f.state,
            str(f.rows),
            str(f.rows_ok),
            str(f.rows_with_errors),
            str(f.rows_skipped),
            str(f.rows_rollbacked),
            f.error or "",
        )
    out = console()
    out.print(table)
    if summary.message:
        out.print(f"[yellow]{summary.message}[/yellow]")
