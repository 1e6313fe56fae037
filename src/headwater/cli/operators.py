"""``headwater operator``: the people who sign in to the console and see every tenant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from headwater.cli.common import (
    DatabaseUrlOption,
    JsonOption,
    build_settings,
    emit_rows,
    emit_work,
    run_or_fail,
    sub_app,
)
from headwater.clock import iso_millis

if TYPE_CHECKING:
    from headwater.runtime import Runtime


def register(app: typer.Typer) -> None:
    operator_app = sub_app("Operators: console accounts that see every tenant.")
    app.add_typer(operator_app, name="operator")

    @operator_app.command("create")
    def operator_create(
        principal: Annotated[
            str, typer.Option("--principal", metavar="PRINCIPAL", help="The operator's login name.")
        ],
        password: Annotated[
            str | None,
            typer.Option(
                "--password",
                metavar="PASSWORD",
                help="Generated and printed when left out.",
                show_default=False,
            ),
        ] = None,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Create an operator; a generated password is printed only this once."""
        from headwater import operators

        async def work(runtime: Runtime) -> dict[str, Any]:
            async with runtime.db.session() as session:
                issued = await operators.create_operator(session, principal, password=password)
                shown: dict[str, Any] = {"id": issued.operator.id, "principal": issued.operator.principal}
                if issued.generated_password is not None:
                    shown["password"] = issued.generated_password
                return shown

        emit_work(database_url, work, as_json, title="operator")

    @operator_app.command("list")
    def operator_list(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
        """List the operators."""
        from headwater.store import operators as store

        async def work(runtime: Runtime) -> list[dict[str, Any]]:
            async with runtime.db.session() as session:
                return [
                    {"id": row.id, "principal": row.principal, "createdAt": iso_millis(row.created_at)}
                    for row in await store.list_(session)
                ]

        emit_rows(
            "operators", run_or_fail(build_settings(database_url), work, as_json), as_json, title="operators"
        )

    @operator_app.command("delete")
    def operator_delete(
        principal: Annotated[
            str, typer.Option("--principal", metavar="PRINCIPAL", help="The operator's login name.")
        ],
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Delete an operator; their console sessions end at once."""
        from headwater.store import operators as store

        async def work(runtime: Runtime) -> dict[str, Any]:
            async with runtime.db.session() as session:
                await store.delete_operator(session, principal)
                return {"deleted": principal}

        emit_work(database_url, work, as_json, title="operator")
