"""The first start: an empty store gets a tenant, a touchpoint and a partner to try the API with."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError

from headwater.access import credentials
from headwater.runtime import Runtime
from headwater.store import credentials as store

DEFAULT_TENANT = "default"
DEFAULT_TOUCHPOINT = "default"
DEFAULT_PRINCIPAL = "partner"


@dataclass(frozen=True)
class FirstStart:
    """What the operator needs once to call the partner API; never logged."""

    tenant: str
    touchpoint_code: str
    token: str = field(repr=False)
    principal: str
    password: str = field(repr=False)


async def bootstrap(runtime: Runtime) -> FirstStart | None:
    """Create the starter credentials when the store has no tenant yet; None when it has one."""
    try:
        async with runtime.db.session() as session:
            if await store.count_tenants(session) > 0:
                return None
            tenant = await credentials.create_tenant(session, DEFAULT_TENANT)
            touchpoint = await credentials.create_touchpoint(
                session, runtime.box, tenant.id, DEFAULT_TOUCHPOINT
            )
            partner = await credentials.create_partner(session, tenant.id, DEFAULT_PRINCIPAL)
    except IntegrityError:
        # Another replica starting at the same moment did it first.
        return None
    assert partner.generated_password is not None
    return FirstStart(
        tenant=tenant.name,
        touchpoint_code=touchpoint.touchpoint.code,
        token=touchpoint.token,
        principal=partner.partner.principal,
        password=partner.generated_password,
    )


def instructions(first: FirstStart, base_url: str) -> str:
    """The text ``headwater serve`` prints once: the credentials and a curl session to start with."""
    base = base_url.rstrip("/")
    query = f"touchpoint={first.touchpoint_code}&token={first.token}"
    body = (
        '{"host": "ftp.example.com", "user": "demo", "password": "secret", "workingDirectory": "/stock", '
        '"processorType": 25012, "fileImportType": "PARTY", "authenticationType": "PASSWORD", '
        f'"dataSourceType": "FTP", "touchpointCode": "{first.touchpoint_code}", "amountCalculated": true}}'
    )
    return "\n".join(
        [
            "headwater: first start, created these credentials (shown only this once, keep them):",
            f"  tenant          {first.tenant}",
            f"  touchpoint      {first.touchpoint_code}",
            f"  token           {first.token}",
            f"  principal       {first.principal}",
            f"  password        {first.password}",
            "",
            "Log in and create a data source:",
            f"  curl -s -c cookies.txt -H 'Content-Type: application/json' "
            f'-d \'{{"principal": "{first.principal}", "password": "{first.password}"}}\' '
            f"'{base}/api/v4/login?{query}'",
            f"  curl -s -b cookies.txt -H 'Content-Type: application/json' -d '{body}' "
            f"'{base}/api/v4/partner/datasources?{query}'",
            "",
        ]
    )
