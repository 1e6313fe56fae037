"""Area keys (``x-api-key``) of the integration API: issue one for a tenant, and keep its budget.

A key names one tenant (an area, in the contract's words) and carries its own limits per second and
per day; left out, the configured defaults apply. Like the other API keys it is random and high in
entropy, so a keyed digest stores and finds it; the key itself is handed back once, when issued.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerSecond
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.access.apikeys import masked, new_key
from headwater.access.crypto import SecretBox
from headwater.access.oauth import Area
from headwater.access.ratelimit import RateLimiter
from headwater.errors import FieldProblem, ValidationFailed
from headwater.settings import Settings
from headwater.store import oauth as store
from headwater.store.credentials import get_tenant_by_name
from headwater.store.tables import AreaKey

KEY_START = "hwx_"
LIMIT_NAMESPACE = "integration"


@dataclass(frozen=True)
class IssuedAreaKey:
    id: int
    tenant_id: int
    tenant: str
    prefix: str
    per_second: int | None
    per_day: int | None
    created_at: datetime
    key: str = field(repr=False)


@dataclass(frozen=True)
class AreaKeyInfo:
    """What the operator may see of an area key after it was issued: never the key itself."""

    id: int
    tenant: str
    masked: str
    per_second: int | None
    per_day: int | None
    created_at: datetime
    revoked_at: datetime | None


def _info(tenant: str, row: AreaKey) -> AreaKeyInfo:
    return AreaKeyInfo(
        id=row.id,
        tenant=tenant,
        masked=masked(row.prefix),
        per_second=row.per_second,
        per_day=row.per_day,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def _check_limit(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise ValidationFailed(
            [FieldProblem(name, f"Invalid{name[0].upper()}{name[1:]}", f"{name} must be at least 1")]
        )


async def create_area_key(
    session: AsyncSession,
    box: SecretBox,
    tenant_name: str,
    *,
    per_second: int | None = None,
    per_day: int | None = None,
) -> IssuedAreaKey:
    _check_limit("perSecond", per_second)
    _check_limit("perDay", per_day)
    tenant = await get_tenant_by_name(session, tenant_name)
    new = new_key(box, KEY_START)
    row = await store.add_area_key(
        session,
        tenant.id,
        key_digest=new.digest,
        prefix=new.prefix,
        per_second=per_second,
        per_day=per_day,
    )
    return IssuedAreaKey(
        id=row.id,
        tenant_id=tenant.id,
        tenant=tenant.name,
        prefix=row.prefix,
        per_second=per_second,
        per_day=per_day,
        created_at=row.created_at,
        key=new.key,
    )


async def list_area_keys(session: AsyncSession, tenant_name: str) -> list[AreaKeyInfo]:
    tenant = await get_tenant_by_name(session, tenant_name)
    return [_info(tenant.name, row) for row in await store.list_area_keys(session, tenant.id)]


async def revoke_area_key(session: AsyncSession, tenant_name: str, key_id: int) -> AreaKeyInfo:
    """Refuse the key (by its id in ``list_area_keys``) from now on; revoking again keeps the first time."""
    tenant = await get_tenant_by_name(session, tenant_name)
    return _info(tenant.name, await store.revoke_area_key(session, tenant.id, key_id))


class Budgeted(Protocol):
    """A key as stored or as a request's area: its own budgets, None where it has none."""

    @property
    def per_second(self) -> int | None: ...

    @property
    def per_day(self) -> int | None: ...


@dataclass(frozen=True)
class Budgets:
    per_second: int
    per_day: int


def budgets(key: Budgeted, settings: Settings) -> Budgets:
    """A key's request budgets: its own, or the configured ones where it has none."""
    return Budgets(
        key.per_second or settings.rate_limit_per_second, key.per_day or settings.rate_limit_per_day
    )


def limits_of(area: Area, settings: Settings) -> list[RateLimitItem]:
    allowed = budgets(area, settings)
    return [RateLimitItemPerSecond(allowed.per_second), RateLimitItemPerDay(allowed.per_day)]


async def spend(limiter: RateLimiter, area: Area, settings: Settings) -> None:
    """Count one request against the key's budgets; ``RateLimited`` when one is spent."""
    await limiter.check(LIMIT_NAMESPACE, area.limit_key, limits_of(area, settings))


__all__ = [
    "AreaKeyInfo",
    "IssuedAreaKey",
    "create_area_key",
    "limits_of",
    "list_area_keys",
    "revoke_area_key",
    "spend",
]
