"""``headwater tenant``, ``headwater touchpoint`` and ``headwater partner``: the operator's credentials."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from headwater.cli.common import (
    DatabaseUrlOption,
    JsonOption,
    TenantOption,
    emit_list,
    emit_work,
    of_tenant,
    sub_app,
    tenant_list_command,
    with_password,
)
from headwater.clock import iso_millis

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from headwater.access.credentials import IssuedPartner, IssuedTouchpoint, RevokedPartner
    from headwater.runtime import Runtime
    from headwater.store.tables import Partner, Tenant, Touchpoint

CodeOption = Annotated[str, typer.Option("--code", metavar="CODE", help="The touchpoint code callers send.")]
PrincipalOption = Annotated[
    str, typer.Option("--principal", metavar="NAME", help="The partner's login name.")
]
PasswordOption = Annotated[
    str | None,
    typer.Option(
        "--password", metavar="TEXT", help="Generated and printed when left out.", show_default=False
    ),
]


def tenant_json(tenant: Tenant) -> dict[str, Any]:
    return {"id": tenant.id, "name": tenant.name, "createdAt": iso_millis(tenant.created_at)}


def touchpoint_json(tenant: str, touchpoint: Touchpoint) -> dict[str, Any]:
    return {
        "tenant": tenant,
        "code": touchpoint.code,
        "type": touchpoint.type,
        "createdAt": iso_millis(touchpoint.created_at),
        "tokenIssuedAt": iso_millis(touchpoint.token_issued_at),
        "revokedAt": iso_millis(touchpoint.revoked_at),
    }


def partner_json(tenant: str, partner: Partner) -> dict[str, Any]:
    return {
        "tenant": tenant,
        "id": partner.id,
        "principal": partner.principal,
        "firstName": partner.first_name,
        "lastName": partner.last_name,
        "email": partner.email,
        "createdAt": iso_millis(partner.created_at),
        "passwordSetAt": iso_millis(partner.password_set_at),
        "revokedAt": iso_millis(partner.revoked_at),
    }


def with_token(tenant: Tenant, issued: IssuedTouchpoint) -> dict[str, Any]:
    """A touchpoint and its new token: the only answer that ever shows the token."""
    return {**touchpoint_json(tenant.name, issued.touchpoint), "token": issued.token}


def _with_sessions_ended(tenant: Tenant, done: IssuedPartner | RevokedPartner) -> dict[str, Any]:
    return {**partner_json(tenant.name, done.partner), "sessionsEnded": done.sessions_ended}


def register(app: typer.Typer) -> None:
    tenant_app = sub_app("Tenants: the isolation boundary.")
    touchpoint_app = sub_app("Touchpoints: a tenant's API code and token.")
    partner_app = sub_app("Partners: the accounts that own data sources.")
    app.add_typer(tenant_app, name="tenant")
    app.add_typer(touchpoint_app, name="touchpoint")
    app.add_typer(partner_app, name="partner")
    _register_tenants(tenant_app)
    _register_touchpoints(touchpoint_app)
    _register_partners(partner_app)


def _register_tenants(tenant_app: typer.Typer) -> None:
    @tenant_app.command("create")
    def tenant_create(
        name: Annotated[str, typer.Argument(metavar="NAME", help="A name unique on this installation.")],
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Create a tenant."""
        from headwater.access import credentials

        async def work(runtime: Runtime, session: AsyncSession) -> dict[str, Any]:
            return tenant_json(await credentials.create_tenant(session, name))

        emit_work(database_url, work, as_json, title="tenant")

    @tenant_app.command("list")
    def tenant_list(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
        """List the tenants."""
        from headwater.store import credentials as store

        async def work(runtime: Runtime, session: AsyncSession) -> list[dict[str, Any]]:
            return [tenant_json(tenant) for tenant in await store.list_tenants(session)]

        emit_list(database_url, "tenants", work, as_json, title="tenants")


# What a touchpoint command does with the tenant and the code it is given.
TouchpointAct = Callable[["Runtime", "AsyncSession", "Tenant", str], Awaitable[dict[str, Any]]]


def _touchpoint_command(act: TouchpointAct, *, title: str, doc: str) -> Callable[..., None]:
    """A command of the form ``touchpoint X --tenant NAME --code CODE``: ``act`` is all that differs."""

    def command(
        tenant: TenantOption,
        code: CodeOption,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        async def work(runtime: Runtime, session: AsyncSession, found: Tenant) -> dict[str, Any]:
            return await act(runtime, session, found, code)

        emit_work(database_url, of_tenant(tenant, work), as_json, title=title)

    command.__doc__ = doc
    return command


def _register_touchpoints(touchpoint_app: typer.Typer) -> None:
    async def create(runtime: Runtime, session: AsyncSession, tenant: Tenant, code: str) -> dict[str, Any]:
        from headwater.access import credentials

        return with_token(tenant, await credentials.create_touchpoint(session, runtime.box, tenant.id, code))

    async def rotate(runtime: Runtime, session: AsyncSession, tenant: Tenant, code: str) -> dict[str, Any]:
        from headwater.access import credentials

        return with_token(tenant, await credentials.rotate_touchpoint(session, runtime.box, tenant.id, code))

    async def revoke(runtime: Runtime, session: AsyncSession, tenant: Tenant, code: str) -> dict[str, Any]:
        from headwater.access import credentials

        return touchpoint_json(tenant.name, await credentials.revoke_touchpoint(session, tenant.id, code))

    touchpoint_app.command("create")(
        _touchpoint_command(
            create,
            title="touchpoint (the token is shown only once)",
            doc="Create a REST touchpoint and print its generated token (shown only this once).",
        )
    )

    async def rows(runtime: Runtime, session: AsyncSession, tenant: str) -> list[dict[str, Any]]:
        from headwater.store import credentials as store

        found = await store.get_tenant_by_name(session, tenant)
        return [touchpoint_json(found.name, t) for t in await store.list_touchpoints(session, found.id)]

    touchpoint_app.command("list")(
        tenant_list_command(
            "touchpoints",
            rows,
            title="touchpoints",
            doc="List the tenant's touchpoints (never their tokens).",
        )
    )

    touchpoint_app.command("rotate")(
        _touchpoint_command(
            rotate,
            title="touchpoint (the new token is shown only once)",
            doc="""Issue a new token and print it, once; the old token stops working at once.

        A revoked touchpoint works again with the new token.
        """,
        )
    )
    touchpoint_app.command("revoke")(
        _touchpoint_command(
            revoke,
            title="touchpoint revoked",
            doc="Refuse the touchpoint's token from now on (`touchpoint rotate` issues a new one).",
        )
    )


def _register_partners(partner_app: typer.Typer) -> None:
    @partner_app.command("create")
    def partner_create(
        tenant: TenantOption,
        principal: PrincipalOption,
        password: PasswordOption = None,
        first_name: Annotated[
            str | None, typer.Option("--first-name", metavar="TEXT", show_default=False)
        ] = None,
        last_name: Annotated[
            str | None, typer.Option("--last-name", metavar="TEXT", show_default=False)
        ] = None,
        email: Annotated[str | None, typer.Option("--email", metavar="ADDRESS", show_default=False)] = None,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Create a partner account; a generated password is printed only this once."""
        from headwater.access import credentials

        async def work(runtime: Runtime, session: AsyncSession, found: Tenant) -> dict[str, Any]:
            issued = await credentials.create_partner(
                session,
                found.id,
                principal,
                password=password,
                first_name=first_name,
                last_name=last_name,
                email=email,
            )
            shown = {"tenant": found.name, "id": issued.partner.id, "principal": issued.partner.principal}
            return with_password(shown, issued.generated_password)

        emit_work(database_url, of_tenant(tenant, work), as_json, title="partner")

    async def rows(runtime: Runtime, session: AsyncSession, tenant: str) -> list[dict[str, Any]]:
        from headwater.store import credentials as store

        found = await store.get_tenant_by_name(session, tenant)
        return [partner_json(found.name, p) for p in await store.list_partners(session, found.id)]

    partner_app.command("list")(
        tenant_list_command(
            "partners", rows, title="partners", doc="List the tenant's partners (never their passwords)."
        )
    )

    @partner_app.command("reset-password")
    def partner_reset_password(
        tenant: TenantOption,
        principal: PrincipalOption,
        password: PasswordOption = None,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Set a new password (a generated one is printed only this once) and end the partner's sessions.

        A revoked partner can log in again with the new password.
        """
        from headwater.access import credentials

        async def work(runtime: Runtime, session: AsyncSession, found: Tenant) -> dict[str, Any]:
            issued = await credentials.reset_partner_password(session, found.id, principal, password=password)
            return with_password(_with_sessions_ended(found, issued), issued.generated_password)

        emit_work(
            database_url,
            of_tenant(tenant, work),
            as_json,
            title="partner (a generated password is shown only once)",
        )

    @partner_app.command("revoke")
    def partner_revoke(
        tenant: TenantOption,
        principal: PrincipalOption,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Refuse the partner's password from now on and end its sessions at once."""
        from headwater.access import credentials

        async def work(runtime: Runtime, session: AsyncSession, found: Tenant) -> dict[str, Any]:
            return _with_sessions_ended(found, await credentials.revoke_partner(session, found.id, principal))

        emit_work(database_url, of_tenant(tenant, work), as_json, title="partner revoked")
