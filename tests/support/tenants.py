"""Test data made through the core, as a user of headwater would make it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headwater import sources
from headwater.access import credentials
from headwater.ingest.connectors.hosts import HostPolicy
from headwater.runtime import Runtime
from headwater.store.tables import DataSource


@dataclass
class Tenancy:
    tenant_id: int
    touchpoint_code: str
    touchpoint_token: str
    partner_id: int
    principal: str
    password: str


async def make_tenancy(runtime: Runtime, name: str = "acme", code: str = "REST01") -> Tenancy:
    async with runtime.db.session() as session:
        tenant = await credentials.create_tenant(session, name)
        touchpoint = await credentials.create_touchpoint(session, runtime.box, tenant.id, code)
        issued = await credentials.create_partner(session, tenant.id, f"partner@{name}.example")
        assert issued.generated_password is not None
        return Tenancy(
            tenant_id=tenant.id,
            touchpoint_code=code,
            touchpoint_token=touchpoint.token,
            partner_id=issued.partner.id,
            principal=issued.partner.principal,
            password=issued.generated_password,
        )


def sftp_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "host": "files.partner.example",
        "user": "demo",
        "password": "s3cret-password",
        "workingDirectory": "/in",
        "processorType": 25011,
        "fileImportType": "PARTY",
        "authenticationType": "PASSWORD",
        "dataSourceType": "SFTP",
        "touchpointCode": "REST01",
        "amountCalculated": False,
    }
    fields.update(overrides)
    return fields


async def make_source(runtime: Runtime, tenancy: Tenancy, **overrides: Any) -> DataSource:
    async with runtime.db.session() as session:
        return await sources.create_pull_source(
            session,
            tenancy.tenant_id,
            sftp_fields(touchpointCode=tenancy.touchpoint_code, **overrides),
            runtime.box,
            owner_partner_id=tenancy.partner_id,
            hosts=HostPolicy.from_settings(runtime.settings),
        )
