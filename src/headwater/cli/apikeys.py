"""``headwater apikey``: the keys of the data sources API (``/v1``)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from headwater import apikeys
from headwater.cli.common import DatabaseUrlOption, JsonOption, emit_work
from headwater.clock import iso_millis
from headwater.runtime import Runtime


def register(app: typer.Typer) -> None:
    apikey_app = typer.Typer(no_args_is_help=True, help="API keys of the data sources API (/v1).")
    app.add_typer(apikey_app, name="apikey")

    @apikey_app.command("create")
    def create(
        tenant: Annotated[str, typer.Option("--tenant", help="The tenant's name.")],
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Issue a new API key for a tenant and print it (shown only this once)."""

        async def work(runtime: Runtime) -> dict[str, Any]:
            async with runtime.db.session() as session:
                issued = await apikeys.issue_for_tenant_name(session, runtime.box, tenant)
            return {
                "tenant": issued.tenant,
                "key": issued.key,
                "prefix": issued.prefix,
                "createdAt": iso_millis(issued.created_at),
            }

        emit_work(database_url, work, as_json, title="API key (shown only this once)")

    @apikey_app.command("revoke")
    def revoke(
        key: Annotated[
            str,
            typer.Argument(help="The API key to revoke; - reads it from standard input.", show_default=False),
        ],
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Revoke an API key: requests made with it are refused from now on."""
        if key == "-":
            key = sys.stdin.readline().strip()

        async def work(runtime: Runtime) -> dict[str, Any]:
            async with runtime.db.session() as session:
                revoked = await apikeys.revoke(session, runtime.box, key)
            return {
                "tenant": revoked.tenant,
                "prefix": revoked.prefix,
                "revokedAt": iso_millis(revoked.revoked_at),
            }

        emit_work(database_url, work, as_json, title="API key revoked")
