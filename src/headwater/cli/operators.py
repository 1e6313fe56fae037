"""``headwater operator``: the people who sign in to the console and see every tenant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from headwater.cli.common import (
    DatabaseUrlOption,
    JsonOption,
    emit_list,
    emit_work,
    sub_app,
    with_password,
)
from headwater.clock import iso_millis

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

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
        from headwater.access import operators

        async def work(runtime: Runtime, session: AsyncSession) -> dict[str, Any]:
            issued = await operators.create_operator(session, principal, password=password)
            shown = {"id": issued.operator.id, "principal": issued.operator.principal}
            return with_password(shown, issued.generated_password)

        emit_work(database_url, work, as_json, title="operator")

    @operator_app.command("list")
    def operator_list(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
        """List the operators."""
        from headwater.store import operators as store

        async def work(runtime: Runtime, session: AsyncSession) -> list[dict[str, Any]]:
            return [
                {"id": row.id, "principal": row.principal, "createdAt": iso_millis(row.created_at)}
                for row in await store.list_(session)
            ]

        emit_list(database_url, "operators", work, as_json, title="operators")

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

        async def work(runtime: Runtime, session: AsyncSession) -> dict[str, Any]:
            await store.delete_operator(session, principal)
            return {"deleted": principal}

        emit_work(database_url, work, as_json, title="operator")
