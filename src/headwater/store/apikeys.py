"""API keys of the data sources API, and the tenant lookup the operator's commands need.

A key is what *tells* which tenant a request belongs to, so ``find_by_digests`` looks across tenants
by the key's keyed digest (unique on the table). Every other function is scoped by tenant. Keys arrive
here already digested: this module stores and finds, it does not decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.clock import utcnow
from headwater.errors import NotFound
from headwater.store.queries import inserted, one_or_not_found, revoked
from headwater.store.tables import ApiKey, Tenant


async def get_tenant_by_name(session: AsyncSession, name: str) -> Tenant:
    return await one_or_not_found(session, select(Tenant).where(Tenant.name == name), "Tenant", name)


async def get_tenant(session: AsyncSession, tenant_id: int) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("Tenant", tenant_id)
    return tenant


async def add(session: AsyncSession, tenant_id: int, *, key_digest: str, prefix: str) -> ApiKey:
    return await inserted(
        session, ApiKey(tenant_id=tenant_id, key_digest=key_digest, prefix=prefix, created_at=utcnow())
    )


async def find_by_digests(
    session: AsyncSession, digests: Sequence[str], *, include_revoked: bool = False
) -> ApiKey | None:
    """The key stored under any of ``digests`` (one per configured secret key)."""
    query = select(ApiKey).where(ApiKey.key_digest.in_(digests))
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return await session.scalar(query.limit(1))


async def list_for_tenant(session: AsyncSession, tenant_id: int) -> Sequence[ApiKey]:
    return (
        await session.scalars(select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.id))
    ).all()


async def revoke(session: AsyncSession, tenant_id: int, key_id: int, *, at: datetime | None = None) -> ApiKey:
    api_key = await one_or_not_found(
        session, select(ApiKey).where(ApiKey.tenant_id == tenant_id, ApiKey.id == key_id), "API key"
    )
    return await revoked(session, api_key, at=at)
