"""``headwater source list`` and ``headwater runs SOURCE_ID``: what each source did last, and every run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from headwater.cli.common import (
    DatabaseUrlOption,
    JsonOption,
    build_settings,
    console,
    emit_rows,
    run_or_fail,
    sub_app,
)
from headwater.clock import iso_millis

if TYPE_CHECKING:
    from headwater.runtime import Runtime
    from headwater.store.tables import DataSource

# One ``source`` group: this module's listing and ``source_controls``' test, host-key reset, re-import.
source_app = sub_app(
    "Data sources: what each did last, when it runs next; test, reset the host key, re-import."
)
MAX_RUNS_SHOWN = 1000  # runs.MAX_PAGE, without importing the store just to print --help

_TIMES = ("queuedAt", "startedAt", "finishedAt", "nextRunTime", "lastRunningTime")


def _iso_times(shown: dict[str, Any]) -> dict[str, Any]:
    for key in _TIMES:
        if key in shown:
            shown[key] = iso_millis(shown[key])
    if shown.get("lastError") is not None:
        shown["lastError"] = {**shown["lastError"], "at": iso_millis(shown["lastError"]["at"])}
    return shown


def source_json(source: DataSource, tenant: str) -> dict[str, Any]:
    from headwater.sources import describe

    described = describe(source)
    shown = {"id": source.id, "tenant": tenant}
    for key in ("name", "system", "host", "active", "status", "schedule", "lastRunStatus", "lastError"):
        shown[key] = described[key]
    shown["lastRunningTime"] = described["lastRunningTime"]
    shown["nextRunTime"] = described["nextRunTime"]
    return _iso_times(shown)


def run_json(run: Any) -> dict[str, Any]:
    from headwater.ingest import runs

    return _iso_times(runs.describe_run(run))


def _print(line: str) -> None:
    from rich.markup import escape

    console().print(escape(line), highlight=False, soft_wrap=True)


def _print_runs(source_id: int, shown: list[dict[str, Any]]) -> None:
    """One line per run, its error on the next: readable in any terminal width."""
    if not shown:
        _print(f"source {source_id} has not run yet")
    for run in shown:
        _print(
            f"run {run['id']}  {run['trigger']}  {run['status']}  started {run['startedAt'] or '-'}  "
            f"finished {run['finishedAt'] or '-'}  files {run['files']}  rows ok {run['rowsOk']}  "
            f"rejected {run['rowsWithErrors']}"
        )
        if run["errorMessage"]:
            code = f"{run['errorCode']}: " if run["errorCode"] else ""
            _print(f"    {code}{run['errorMessage']}")


def _print_sources(shown: list[dict[str, Any]]) -> None:
    for s in shown:
        schedule = s["schedule"] if s["schedule"] is not None else "global interval"
        _print(
            f"source {s['id']}  {s['tenant']}  {s['name']}  {'active' if s['active'] else 'inactive'}  "
            f"schedule {schedule}  last run {s['lastRunStatus'] or '-'}  next run {s['nextRunTime'] or '-'}"
        )
        if s["lastError"] is not None:
            error = s["lastError"]
            _print(f"    last error {error['code']}: {error['message']} (at {error['at']})")


def register(app: typer.Typer) -> None:
    app.add_typer(source_app, name="source")

    @source_app.command("list")
    def source_list(
        tenant: Annotated[
            str | None,
            typer.Option("--tenant", metavar="NAME", help="Only this tenant's sources.", show_default=False),
        ] = None,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """List the sources with their latest run's status, last error and next run time."""
        from headwater.store import credentials as credential_store
        from headwater.store import sources as source_store

        async def work(runtime: Runtime) -> list[dict[str, Any]]:
            async with runtime.db.session() as session:
                if tenant is not None:
                    tenants = [await credential_store.get_tenant_by_name(session, tenant)]
                else:
                    tenants = list(await credential_store.list_tenants(session))
                return [
                    source_json(source, found.name)
                    for found in tenants
                    for source in await source_store.list_(session, found.id)
                ]

        shown = run_or_fail(build_settings(database_url), work, as_json)
        if as_json:
            emit_rows("sources", shown, True)
        else:
            _print_sources(shown)

    @app.command("runs")
    def list_runs(
        source_id: Annotated[int, typer.Argument(metavar="SOURCE_ID", help="The data source's id.")],
        limit: Annotated[
            int, typer.Option("--limit", min=1, max=MAX_RUNS_SHOWN, metavar="N", help="At most this many.")
        ] = 20,
        offset: Annotated[int, typer.Option("--offset", min=0, metavar="N", help="Skip the newest N.")] = 0,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """List a source's runs, newest first: what each imported, and why it failed."""
        from headwater.ingest import runs
        from headwater.store import sources as source_store

        async def work(runtime: Runtime) -> list[dict[str, Any]]:
            async with runtime.db.session() as session:
                source = await source_store.get_for_operator(session, source_id)
            found = await runs.list_runs(runtime, source.tenant_id, source.id, limit=limit, offset=offset)
            return [run_json(run) for run in found]

        shown = run_or_fail(build_settings(database_url), work, as_json)
        if as_json:
            emit_rows("runs", shown, True)
        else:
            _print_runs(source_id, shown)
