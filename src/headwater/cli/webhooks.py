"""``headwater webhook``: a tenant's webhook endpoints, their delivery log, and sending again by hand."""

from __future__ import annotations

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
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from headwater.runtime import Runtime
    from headwater.store.tables import Tenant

EndpointArgument = Annotated[int, typer.Argument(metavar="ENDPOINT_ID", help="The webhook endpoint's id.")]


def _shown(described: dict[str, Any]) -> dict[str, Any]:
    from headwater.clock import iso_millis

    return {key: iso_millis(value) if key.endswith("At") else value for key, value in described.items()}


def register(app: typer.Typer) -> None:
    webhook_app = sub_app("Webhook endpoints: where a tenant is told of its imports' outcomes.")
    app.add_typer(webhook_app, name="webhook")

    @webhook_app.command("create")
    def create(
        tenant: TenantOption,
        url: Annotated[
            str, typer.Option("--url", metavar="URL", help="Where events are posted (http or https).")
        ],
        event: Annotated[
            list[str] | None,
            typer.Option("--event", metavar="TYPE", help="An event type to send (repeat it); default: all."),
        ] = None,
        description: Annotated[
            str | None, typer.Option("--description", metavar="TEXT", help="What the endpoint is for.")
        ] = None,
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Register a webhook endpoint and print its signing secret (shown only this once)."""
        from headwater.ingest.connectors.hosts import HostPolicy
        from headwater.webhooks import endpoints

        async def work(runtime: Runtime, session: AsyncSession, found: Tenant) -> dict[str, Any]:
            body: dict[str, Any] = {"url": url, "events": event or None, "description": description}
            created = await endpoints.create_endpoint(
                session, found.id, body, runtime.box, hosts=HostPolicy.from_settings(runtime.settings)
            )
            return {**_shown(endpoints.describe(created.endpoint)), "secret": created.secret}

        emit_work(
            database_url,
            of_tenant(tenant, work),
            as_json,
            title="webhook endpoint (secret shown only this once)",
        )

    async def rows(runtime: Runtime, session: AsyncSession, tenant: str) -> list[dict[str, Any]]:
        from headwater.store import credentials as tenant_store
        from headwater.webhooks import endpoints

        found = await tenant_store.get_tenant_by_name(session, tenant)
        return [_shown(endpoints.describe(e)) for e in await endpoints.list_endpoints(session, found.id)]

    webhook_app.command("list")(
        tenant_list_command(
            "webhooks", rows, title="webhook endpoints", doc="List the tenant's webhook endpoints."
        )
    )

    @webhook_app.command("revoke")
    def revoke(
        endpoint_id: EndpointArgument, database_url: DatabaseUrlOption = None, as_json: JsonOption = False
    ) -> None:
        """Remove a webhook endpoint: nothing more is sent to it."""
        from headwater.store import webhooks as webhook_store
        from headwater.webhooks import endpoints

        async def work(runtime: Runtime, session: AsyncSession) -> dict[str, Any]:
            found = await webhook_store.get_endpoint_for_operator(session, endpoint_id)
            shown = _shown(endpoints.describe(found))
            await endpoints.delete_endpoint(session, found.tenant_id, found.id)
            return {**shown, "revoked": True}

        emit_work(database_url, work, as_json, title="webhook endpoint revoked")

    @webhook_app.command("rotate-secret")
    def rotate_secret(
        endpoint_id: EndpointArgument, database_url: DatabaseUrlOption = None, as_json: JsonOption = False
    ) -> None:
        """Give an endpoint a new signing secret and print it (shown only this once)."""
        from headwater.store import webhooks as webhook_store
        from headwater.webhooks import endpoints

        async def work(runtime: Runtime, session: AsyncSession) -> dict[str, Any]:
            found = await webhook_store.get_endpoint_for_operator(session, endpoint_id)
            rotated = await endpoints.rotate_secret(session, found.tenant_id, found.id, runtime.box)
            return {**_shown(endpoints.describe(rotated.endpoint)), "secret": rotated.secret}

        emit_work(database_url, work, as_json, title="webhook endpoint (new secret shown only this once)")

    @webhook_app.command("deliveries")
    def deliveries(
        endpoint_id: EndpointArgument, database_url: DatabaseUrlOption = None, as_json: JsonOption = False
    ) -> None:
        """The endpoint's latest deliveries: event, state, attempts and the last answer."""
        from headwater.store import webhooks as webhook_store
        from headwater.webhooks import delivery

        async def work(runtime: Runtime, session: AsyncSession) -> list[dict[str, Any]]:
            found = await webhook_store.get_endpoint_for_operator(session, endpoint_id)
            listed = await delivery.list_deliveries(session, found.tenant_id, found.id)
            rows = []
            for shown in listed:
                last = shown["log"][-1] if shown["log"] else {}
                row = _shown({key: value for key, value in shown.items() if key != "log"})
                row["log"] = [_shown(entry) for entry in shown["log"]] if as_json else None
                if not as_json:
                    del row["log"]
                    row["lastStatus"] = last.get("statusCode")
                    row["lastError"] = last.get("error")
                rows.append(row)
            return rows

        emit_list(database_url, "deliveries", work, as_json, title=f"deliveries of webhook {endpoint_id}")

    @webhook_app.command("redeliver")
    def redeliver(
        delivery_id: Annotated[int, typer.Argument(metavar="DELIVERY_ID", help="The delivery's id.")],
        database_url: DatabaseUrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Send a delivery again: the running server or workers send it within a second or so."""
        from headwater.store import webhooks as webhook_store
        from headwater.webhooks import delivery

        async def work(runtime: Runtime, session: AsyncSession) -> dict[str, Any]:
            found = await webhook_store.get_delivery_for_operator(session, delivery_id)
            again = await delivery.redeliver(session, found.tenant_id, found.id)
            return {"id": again.id, "endpointId": again.endpoint_id, "state": again.state}

        emit_work(database_url, work, as_json, title="delivery queued again")


__all__ = ["register"]
