"""``headwater client`` and ``headwater area-key``: the integration API's OAuth2 clients and area keys."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from headwater import areakeys, oauth
from headwater.cli.common import DatabaseUrlOption, JsonOption, emit_work
from headwater.runtime import Runtime

TenantOption = Annotated[str, typer.Option("--tenant", help="The tenant's name.")]
ClientIdArgument = Annotated[str, typer.Argument(help="The client id printed by `client create`.")]


def register(app: typer.Typer) -> None:
    client_app = typer.Typer(no_args_is_help=True, help="OAuth2 clients of the integration API (/prod).")
    area_key_app = typer.Typer(no_args_is_help=True, help="Area keys (x-api-key) of the integration API.")
    app.add_typer(client_app, name="client")
    app.add_typer(area_key_app, name="area-key")

    @client_app.command("create")
    def client_create(
        tenant: TenantOption,
        grant: Annotated[
            list[str] | None,
            typer.Option("--grant", help="Another tenant whose area keys the client may use (repeatable)."),
        ] = None,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Create a client of the tenant (granted its own tenant) and print its id and secret, once."""

        async def work(runtime: Runtime) -> dict[str, Any]:
            async with runtime.db.session() as session:
                issued = await oauth.create_client(session, tenant, grant or [])
            return {
                "clientId": issued.client_id,
                "clientSecret": issued.secret,
                "tenant": issued.tenant,
                "granted": issued.granted,
                "createdAt": issued.created_at.isoformat(),
            }

        emit_work(database_url, work, as_json, title="client (the secret is shown only once)")

    @client_app.command("grant")
    def client_grant(
        client_id: ClientIdArgument,
        tenant: TenantOption,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Let the client use the area keys of another tenant."""

        async def work(runtime: Runtime) -> dict[str, Any]:
            async with runtime.db.session() as session:
                granted = await oauth.grant_client(session, client_id, tenant)
            return {"clientId": client_id, "granted": granted}

        emit_work(database_url, work, as_json, title="client")

    @client_app.command("revoke")
    def client_revoke(
        client_id: ClientIdArgument, database_url: DatabaseUrlOption = None, as_json: JsonOption = False
    ) -> None:
        """Revoke the client: its tokens stop working at once and it gets no new ones."""

        async def work(runtime: Runtime) -> dict[str, Any]:
            async with runtime.db.session() as session:
                revoked_at = await oauth.revoke_client(session, client_id)
            return {"clientId": client_id, "revokedAt": revoked_at.isoformat()}

        emit_work(database_url, work, as_json, title="client revoked")

    @area_key_app.command("create")
    def area_key_create(
        tenant: TenantOption,
        per_second: Annotated[
            int | None,
            typer.Option("--per-second", min=1, help="Requests per second (default: the configured limit)."),
        ] = None,
        per_day: Annotated[
            int | None,
            typer.Option("--per-day", min=1, help="Requests per day (default: the configured limit)."),
        ] = None,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Create an x-api-key for the tenant (area) and print it, once."""

        async def work(runtime: Runtime) -> dict[str, Any]:
            async with runtime.db.session() as session:
                issued = await areakeys.create_area_key(
                    session, runtime.box, tenant, per_second=per_second, per_day=per_day
                )
            settings = runtime.settings
            return {
                "apiKey": issued.key,
                "tenant": issued.tenant,
                "prefix": issued.prefix,
                "perSecond": issued.per_second or settings.rate_limit_per_second,
                "perDay": issued.per_day or settings.rate_limit_per_day,
                "createdAt": issued.created_at.isoformat(),
            }

        emit_work(database_url, work, as_json, title="area key (shown only once)")
