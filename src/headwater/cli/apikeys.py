"""``headwater apikey``: the keys of the data sources API (``/v1``)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from headwater.cli.common import (
    DatabaseUrlOption,
    JsonOption,
    TenantOption,
    emit_work,
    fail,
    of_tenant,
    sub_app,
    tenant_list_command,
)
from headwater.clock import iso_millis

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from headwater.runtime import Runtime
    from headwater.store.tables import Tenant


def register(app: typer.Typer) -> None:
    apikey_app = sub_app("API keys of the data sources API (/v1).")
    app.add_typer(apikey_app, name="apikey")

    @apikey_app.command("create")
    def create(
        tenant: TenantOption, database_url: DatabaseUrlOption = None, as_json: JsonOption = False
    ) -> None:
        """Issue a new API key for a tenant and print it (shown only this once)."""
        from headwater.access import apikeys

        async def work(runtime: Runtime, session: AsyncSession) -> dict[str, Any]:
            issued = await apikeys.issue_for_tenant_name(session, runtime.box, tenant)
            return {
                "tenant": issued.tenant,
                "key": issued.key,
                "prefix": issued.prefix,
                "createdAt": iso_millis(issued.created_at),
            }

        emit_work(database_url, work, as_json, title="API key (shown only this once)")

    async def rows(runtime: Runtime, session: AsyncSession, tenant: str) -> list[dict[str, Any]]:
        from headwater.access import apikeys

        return [
            {
                "id": key.id,
                "tenant": key.tenant,
                "key": key.masked,
                "createdAt": iso_millis(key.created_at),
                "revokedAt": iso_millis(key.revoked_at),
            }
            for key in await apikeys.list_keys(session, tenant)
        ]

    apikey_app.command("list")(
        tenant_list_command(
            "apiKeys",
            rows,
            title="API keys",
            doc="List the tenant's API keys, masked: only their first characters are shown.",
        )
    )

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
            typer.Option(
                "--tenant", metavar="NAME", help="The tenant of the key --id names.", show_default=False
            ),
        ] = None,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Revoke an API key, by the key itself or by its id: requests made with it are refused from now on."""
        from headwater.access import apikeys

        if (key is None) == (key_id is None):
            raise fail("give either the KEY or its --id (with --tenant)", as_json, exit_code=2)
        if key_id is not None and tenant is None:
            raise fail("--id needs the --tenant the key belongs to", as_json, exit_code=2)
        if key == "-":
            key = sys.stdin.readline().strip()

        async def by_key(runtime: Runtime, session: AsyncSession) -> apikeys.RevokedKey:
            return await apikeys.revoke(session, runtime.box, key or "")

        async def by_id(runtime: Runtime, session: AsyncSession, found: Tenant) -> apikeys.RevokedKey:
            assert key_id is not None
            return await apikeys.revoke_by_id(session, found.id, key_id)

        revoking = by_key if tenant is None else of_tenant(tenant, by_id)

        async def work(runtime: Runtime, session: AsyncSession) -> dict[str, Any]:
            revoked = await revoking(runtime, session)
            return {
                "tenant": revoked.tenant,
                "prefix": revoked.prefix,
                "revokedAt": iso_millis(revoked.revoked_at),
            }

        emit_work(database_url, work, as_json, title="API key revoked")
