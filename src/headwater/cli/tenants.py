"""``headwater tenant``, ``headwater touchpoint`` and ``headwater partner``: the operator's credentials."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from headwater import credentials
from headwater.cli.common import (
    DatabaseUrlOption,
    JsonOption,
    build_settings,
    emit_rows,
    emit_work,
    run_or_fail,
)
from headwater.runtime import Runtime
from headwater.store import credentials as store
from headwater.store.tables import Tenant

TenantOption = Annotated[str, typer.Option("--tenant", help="The tenant's name.")]


def _tenant_json(tenant: Tenant) -> dict[str, Any]:
    return {"id": tenant.id, "name": tenant.name, "createdAt": tenant.created_at.isoformat()}


def register(app: typer.Typer) -> None:
    tenant_app = typer.Typer(no_args_is_help=True, help="Tenants: the isolation boundary.")
    touchpoint_app = typer.Typer(no_args_is_help=True, help="Touchpoints: a tenant's API code and token.")
    partner_app = typer.Typer(no_args_is_help=True, help="Partners: the accounts that own data sources.")
    app.add_typer(tenant_app, name="tenant")
    app.add_typer(touchpoint_app, name="touchpoint")
    app.add_typer(partner_app, name="partner")

    @tenant_app.command("create")
    def tenant_create(
        name: Annotated[str, typer.Argument(help="A name unique on this installation.")],
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Create a tenant."""

        async def work(runtime: Runtime) -> dict[str, Any]:
            async with runtime.db.session() as session:
                return _tenant_json(await credentials.create_tenant(session, name))

        emit_work(database_url, work, as_json, title="tenant")

    @tenant_app.command("list")
    def tenant_list(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
        """List the tenants."""

        async def work(runtime: Runtime) -> list[dict[str, Any]]:
            async with runtime.db.session() as session:
                return [_tenant_json(tenant) for tenant in await store.list_tenants(session)]

        tenants = run_or_fail(build_settings(database_url), work, as_json)
        emit_rows("tenants", tenants, as_json, title="tenants")

    @touchpoint_app.command("create")
    def touchpoint_create(
        tenant: TenantOption,
        code: Annotated[str, typer.Option("--code", help="The touchpoint code callers send.")],
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Create a REST touchpoint and print its generated token (shown only this once)."""

        async def work(runtime: Runtime) -> dict[str, Any]:
            async with runtime.db.session() as session:
                found = await store.get_tenant_by_name(session, tenant)
                issued = await credentials.create_touchpoint(session, runtime.box, found.id, code)
                return {
                    "tenant": found.name,
                    "code": issued.touchpoint.code,
                    "type": issued.touchpoint.type,
                    "token": issued.token,
                }

        emit_work(database_url, work, as_json, title="touchpoint (the token is shown only once)")

    @partner_app.command("create")
    def partner_create(
        tenant: TenantOption,
        principal: Annotated[str, typer.Option("--principal", help="The partner's login name.")],
        password: Annotated[
            str | None,
            typer.Option("--password", help="Generated and printed when left out.", show_default=False),
        ] = None,
        first_name: Annotated[str | None, typer.Option("--first-name", show_default=False)] = None,
        last_name: Annotated[str | None, typer.Option("--last-name", show_default=False)] = None,
        email: Annotated[str | None, typer.Option("--email", show_default=False)] = None,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Create a partner account; a generated password is printed only this once."""

        async def work(runtime: Runtime) -> dict[str, Any]:
            async with runtime.db.session() as session:
                found = await store.get_tenant_by_name(session, tenant)
                issued = await credentials.create_partner(
                    session,
                    found.id,
                    principal,
                    password=password,
                    first_name=first_name,
                    last_name=last_name,
                    email=email,
                )
                shown: dict[str, Any] = {
                    "tenant": found.name,
                    "id": issued.partner.id,
                    "principal": issued.partner.principal,
                }
                if issued.generated_password is not None:
                    shown["password"] = issued.generated_password
                return shown

        emit_work(database_url, work, as_json, title="partner")
