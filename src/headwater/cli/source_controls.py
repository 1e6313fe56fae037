"""``headwater source test|reset-host-key|reimport`` and ``headwater file reimport``: an operator's controls.

Operator commands reach any tenant's source by id. A reimport marks files for the next run; ``--run``
runs the source right here and prints what the run gave.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from headwater.cli.common import (
    DatabaseUrlOption,
    JsonOption,
    console,
    emit,
    run_or_fail,
    settings_or_fail,
    sub_app,
)
from headwater.cli.sources import source_app

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from headwater.runtime import Runtime
    from headwater.settings import Settings

SourceIdArgument = Annotated[int, typer.Argument(metavar="SOURCE_ID", help="The data source's id.")]
RunOption = Annotated[
    bool, typer.Option("--run", help="Run the source now, here, instead of leaving it to the next run.")
]


def _settings(database_url: str | None) -> Settings:
    """Settings for these commands; logs only warnings, on stderr, so that ``--json`` output stays one object."""
    from headwater.logging import configure_logging

    settings = settings_or_fail(database_url, False)
    configure_logging(settings.model_copy(update={"log_level": "WARNING"}))
    return settings


def _print_check(shown: dict[str, Any], source_id: int) -> None:
    from rich.table import Table

    verdict = "ok" if shown["ok"] else f"failed: {shown['code']}: {shown['message']}"
    console().print(f"source {source_id}: {verdict}")
    if shown["hostKeyFingerprint"]:
        pinned = "pinned" if shown["hostKeyPinned"] else "not pinned yet"
        console().print(f"host key {shown['hostKeyFingerprint']} ({pinned})")
    if not shown["ok"]:
        return
    table = Table(title=f"{shown['filesToImport']} of {shown['filesSeen']} files would be imported now")
    for column in ("file", "size", "modified", "import now", "why"):
        table.add_column(column)
    for listed in shown["files"]:
        table.add_row(
            listed["path"],
            str(listed["size"]),
            listed["modified"] or "",
            "yes" if listed["importNow"] else "no",
            listed["reason"],
        )
    console().print(table)


async def _run_now(runtime: Runtime, tenant_id: int, source_id: int) -> dict[str, Any]:
    from headwater.domain import FileOutcomeState
    from headwater.ingest.imports import run_source

    summary = await run_source(runtime, tenant_id, source_id, trigger="cli")
    return {
        "runId": summary.run_id,
        "outcome": summary.outcome,
        "message": summary.message,
        "filesImported": summary.count(FileOutcomeState.IMPORTED),
    }


# What marking files for import answers: the command's answer, and the tenant and source to run.
Marked = tuple[dict[str, Any], int, int]


def _emit_reimport(
    database_url: str | None, as_json: bool, mark: Callable[[AsyncSession], Awaitable[Marked]], *, run: bool
) -> None:
    """Mark files for import in one transaction; with ``--run``, run their source once that is committed."""

    async def work(runtime: Runtime) -> dict[str, Any]:
        async with runtime.db.session() as session:
            answer, tenant_id, source_id = await mark(session)
        if run:
            answer = {**answer, "run": await _run_now(runtime, tenant_id, source_id)}
        return answer

    emit(run_or_fail(_settings(database_url), work, as_json), as_json, title="reimport")


def register(app: typer.Typer) -> None:
    file_app = sub_app("Imported files: re-import.")
    app.add_typer(file_app, name="file")

    @source_app.command("test")
    def source_test(
        source_id: SourceIdArgument, database_url: DatabaseUrlOption = None, as_json: JsonOption = False
    ) -> None:
        """Connect, list the files and say which a run would import now; import nothing, pin nothing."""
        from headwater.clock import iso_millis
        from headwater.ingest import connection_checks
        from headwater.store import sources as source_store

        settings = _settings(database_url)

        async def work(runtime: Runtime) -> dict[str, Any]:
            async with runtime.db.session() as session:
                source = await source_store.get_for_operator(session, source_id)
            check = await connection_checks.check_source(runtime, source.tenant_id, source.id)
            return check.shown(iso_millis)

        shown = run_or_fail(settings, work, as_json)
        if as_json:
            emit(shown, as_json)
        else:
            _print_check(shown, source_id)
        if not shown["ok"]:
            raise typer.Exit(1)

    @source_app.command("reset-host-key")
    def source_reset_host_key(
        source_id: SourceIdArgument, database_url: DatabaseUrlOption = None, as_json: JsonOption = False
    ) -> None:
        """Forget the pinned SFTP host key: the next run pins the key the server presents."""
        from headwater.ingest.host_keys import reset_host_key
        from headwater.store import sources as source_store

        async def work(runtime: Runtime) -> dict[str, Any]:
            async with runtime.db.session() as session:
                found = await source_store.get_for_operator(session, source_id)
                _source, forgotten = await reset_host_key(session, found.tenant_id, found.id)
            return {"sourceId": source_id, "forgottenHostKeyFingerprint": forgotten}

        emit(run_or_fail(_settings(database_url), work, as_json), as_json, title="host key reset")

    @source_app.command("reimport")
    def source_reimport(
        source_id: SourceIdArgument,
        run: RunOption = False,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Import every file of the source again at its next run, replacing their rows."""
        from headwater.ingest import reimports
        from headwater.store import sources as source_store

        async def mark(session: AsyncSession) -> Marked:
            found = await source_store.get_for_operator(session, source_id)
            marked = await reimports.request_source_reimport(session, found.tenant_id, found.id)
            return {"sourceId": source_id, "filesMarked": marked}, found.tenant_id, found.id

        _emit_reimport(database_url, as_json, mark, run=run)

    @file_app.command("reimport")
    def file_reimport(
        file_id: Annotated[int, typer.Argument(metavar="FILE_ID", help="The imported file's id.")],
        run: RunOption = False,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Import one pulled file again at its source's next run, replacing its rows."""
        from headwater.ingest import reimports
        from headwater.store import imports as ledger_store

        async def mark(session: AsyncSession) -> Marked:
            found = await ledger_store.get_file_for_operator(session, file_id)
            row = await reimports.request_file_reimport(session, found.tenant_id, found.id)
            answer = {"fileId": file_id, "sourceId": row.data_source_id, "state": row.state}
            return answer, row.tenant_id, row.data_source_id

        _emit_reimport(database_url, as_json, mark, run=run)
