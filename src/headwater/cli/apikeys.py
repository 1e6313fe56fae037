"""``headwater apikey``: the keys of the data sources API (``/v1``)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from headwater.cli.common import (
    DatabaseUrlOption,
    JsonOption,
    TenantOption,
    emit_list,
    emit_work,
    fail,
    sub_app,
)
from headwater.clock import iso_millis

if TYPE_CHECKING:
    from headwater.runtime import Runtime


def register(app: typer.Typer) -> None:
    apikey_app = sub_app("API keys of the data sources API (/v1).")
    app.add_typer(apikey_app, name="apikey")

    @apikey_app.command("create")
    def create(
        tenant: TenantOption, database_url: DatabaseUrlOption = None, as_json: JsonOption = False
    ) -> None:
        """Issue a new API key for a tenant and print it (shown only this once)."""
        from headwater import apikeys

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

    @apikey_app.command("list")
    def list_keys(
        tenant: TenantOption, database_url: DatabaseUrlOption = None, as_json: JsonOption = False
    ) -> None:
        """List the tenant's API keys, masked: only their first characters are shown."""
        from headwater import apikeys

        async def work(runtime: Runtime) -> list[dict[str, Any]]:
            async with runtime.db.session() as session:
                keys = await apikeys.list_keys(session, tenant)
            return [
                {
                    "id": key.id,
                    "tenant": key.tenant,
                    "key": key.masked,
                    "createdAt": iso_millis(key.created_at),
                    "revokedAt": iso_millis(key.revoked_at),
                }
                for key in keys
            ]

        emit_list(database_url, "apiKeys", work, as_json, title="API keys")

    @apikey_app.command("revoke")
    def revoke(
        key: Annotated[
            str | None,
            typer.Argument(
                metavar="KEY",
                help="The API key to revoke; - reads it from standard input. Or give --id and --tenant.",
                show_default=False,
            ),
        ] = None,
        key_id: Annotated[
            int | None,
            typer.Option(
                "--id", metavar="ID", help="The key's id, as `apikey list` shows it.", show_default=False
            ),
        ] = None,
        tenant: Annotated[
            str | None,
            typer.Option("--tenant", metavar="NAME", help="The tenant of the key --id names.", show_default=False),
        ] = None,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Revoke an API key, by the key itself or by its id: requests made with it are refused from now on."""
        from headwater import apikeys

        if (key is None) == (key_id is None):
            raise fail("give either the KEY or its --id (with --tenant)", as_json, exit_code=2)
        if key_id is not None and tenant is None:
            raise fail("--id needs the --tenant the key belongs to", as_json, exit_code=2)
        if key == "-":
            key = sys.stdin.readline().strip()

        async def work(runtime: Runtime) -> dict[str, Any]:
            async with runtime.db.session() as session:
                if key_id is not None and tenant is not None:
                    revoked = await apikeys.revoke_by_id_for_tenant_name(session, tenant, key_id)
                else:
                    revoked = await apikeys.revoke(session, runtime.box, key or "")
            return {
                "tenant": revoked.tenant,
                "prefix": revoked.prefix,
                "revokedAt": iso_millis(revoked.revoked_at),
            }

        emit_work(database_url, work, as_json, title="API key revoked")
