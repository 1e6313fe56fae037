"""``headwater client`` and ``headwater area-key``: the integration API's OAuth2 clients and area keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from headwater.cli.common import (
    DatabaseUrlOption,
    JsonOption,
    TenantOption,
    emit_work,
    sub_app,
    tenant_list_command,
)
from headwater.clock import iso_millis

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from headwater.access.areakeys import AreaKeyInfo, IssuedAreaKey
    from headwater.runtime import Runtime
    from headwater.settings import Settings

ClientIdArgument = Annotated[
    str, typer.Argument(metavar="CLIENT_ID", help="The client id printed by `client create`.")
]


def _budgets(key: AreaKeyInfo | IssuedAreaKey, settings: Settings) -> dict[str, int]:
    from headwater.access import areakeys

    allowed = areakeys.budgets(key, settings)
    return {"perSecond": allowed.per_second, "perDay": allowed.per_day}


def area_key_json(key: AreaKeyInfo, settings: Settings) -> dict[str, Any]:
    return {
        "id": key.id,
        "tenant": key.tenant,
        "apiKey": key.masked,
        **_budgets(key, settings),
        "createdAt": iso_millis(key.created_at),
        "revokedAt": iso_millis(key.revoked_at),
    }


def register(app: typer.Typer) -> None:
    client_app = sub_app("OAuth2 clients of the integration API (/prod).")
    area_key_app = sub_app("Area keys (x-api-key) of the integration API.")
    app.add_typer(client_app, name="client")
    app.add_typer(area_key_app, name="area-key")
    _register_clients(client_app)
    _register_area_keys(area_key_app)


def _register_clients(client_app: typer.Typer) -> None:
    @client_app.command("create")
    def client_create(
        tenant: TenantOption,
        grant: Annotated[
            list[str] | None,
            typer.Option(
                "--grant",
                metavar="NAME",
                help="Another tenant whose area keys the client may use (repeatable).",
            ),
        ] = None,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Create a client of the tenant (granted its own tenant) and print its id and secret, once."""
        from headwater.access import oauth

        async def work(runtime: Runtime, session: AsyncSession) -> dict[str, Any]:
            issued = await oauth.create_client(session, tenant, grant or [])
            return {
                "clientId": issued.client_id,
                "clientSecret": issued.secret,
                "tenant": issued.tenant,
                "granted": issued.granted,
                "createdAt": iso_millis(issued.created_at),
            }

        emit_work(database_url, work, as_json, title="client (the secret is shown only once)")

    async def rows(runtime: Runtime, session: AsyncSession, tenant: str) -> list[dict[str, Any]]:
        from headwater.access import oauth

        return [
            {
                "clientId": client.client_id,
                "tenant": client.tenant,
                "granted": client.granted,
                "createdAt": iso_millis(client.created_at),
                "revokedAt": iso_millis(client.revoked_at),
            }
            for client in await oauth.list_clients(session, tenant)
        ]

    client_app.command("list")(
        tenant_list_command(
            "clients",
            rows,
            title="clients",
            doc="List the tenant's clients and the tenants each is granted (never their secrets).",
        )
    )

    @client_app.command("grant")
    def client_grant(
        client_id: ClientIdArgument,
        tenant: TenantOption,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Let the client use the area keys of another tenant."""
        from headwater.access import oauth

        async def work(runtime: Runtime, session: AsyncSession) -> dict[str, Any]:
            granted = await oauth.grant_client(session, client_id, tenant)
            return {"clientId": client_id, "granted": granted}

        emit_work(database_url, work, as_json, title="client")

    @client_app.command("revoke")
    def client_revoke(
        client_id: ClientIdArgument, database_url: DatabaseUrlOption = None, as_json: JsonOption = False
    ) -> None:
        """Revoke the client: its tokens stop working at once and it gets no new ones."""
        from headwater.access import oauth

        async def work(runtime: Runtime, session: AsyncSession) -> dict[str, Any]:
            revoked_at = await oauth.revoke_client(session, client_id)
            return {"clientId": client_id, "revokedAt": iso_millis(revoked_at)}

        emit_work(database_url, work, as_json, title="client revoked")


def _register_area_keys(area_key_app: typer.Typer) -> None:
    @area_key_app.command("create")
    def area_key_create(
        tenant: TenantOption,
        per_second: Annotated[
            int | None,
            typer.Option(
                "--per-second",
                metavar="N",
                min=1,
                help="Requests per second (default: the configured limit).",
            ),
        ] = None,
        per_day: Annotated[
            int | None,
            typer.Option(
                "--per-day", metavar="N", min=1, help="Requests per day (default: the configured limit)."
            ),
        ] = None,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Create an x-api-key for the tenant (area) and print it, once."""
        from headwater.access import areakeys

        async def work(runtime: Runtime, session: AsyncSession) -> dict[str, Any]:
            issued = await areakeys.create_area_key(
                session, runtime.box, tenant, per_second=per_second, per_day=per_day
            )
            return {
                "apiKey": issued.key,
                "id": issued.id,
                "tenant": issued.tenant,
                "prefix": issued.prefix,
                **_budgets(issued, runtime.settings),
                "createdAt": iso_millis(issued.created_at),
            }

        emit_work(database_url, work, as_json, title="area key (shown only once)")

    async def rows(runtime: Runtime, session: AsyncSession, tenant: str) -> list[dict[str, Any]]:
        from headwater.access import areakeys

        return [
            area_key_json(key, runtime.settings) for key in await areakeys.list_area_keys(session, tenant)
        ]

    area_key_app.command("list")(
        tenant_list_command(
            "areaKeys",
            rows,
            title="area keys",
            doc="List the tenant's area keys, masked: only their first characters are shown.",
        )
    )

    @area_key_app.command("revoke")
    def area_key_revoke(
        key_id: Annotated[
            int, typer.Argument(metavar="ID", help="The key's id, as `area-key list` shows it.")
        ],
        tenant: TenantOption,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Revoke an area key: requests made with it are refused from now on."""
        from headwater.access import areakeys

        async def work(runtime: Runtime, session: AsyncSession) -> dict[str, Any]:
            revoked = await areakeys.revoke_area_key(session, tenant, key_id)
            return area_key_json(revoked, runtime.settings)

        emit_work(database_url, work, as_json, title="area key revoked")
