"""OAuth2 clients, their grants and the area keys (``x-api-key``) of the integration API.

A client id and an area key are what *tell* which client or tenant a request belongs to, so those two
lookups go across tenants by a unique value; everything else is scoped by tenant. Secrets arrive here
already hashed or digested: this module stores and finds, it does not decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.clock import utcnow
from headwater.store.queries import inserted, one_or_not_found, revoked
from headwater.store.tables import AreaKey, ClientGrant, OAuthClient, Tenant


@dataclass(frozen=True)
class GrantedArea:
    """An area key a client may use: the key's tenant and its own limits (None: the defaults)."""

    key_id: int
    tenant_id: int
    per_second: int | None
    per_day: int | None


async def tenant_names(session: AsyncSession, tenant_ids: Sequence[int]) -> list[str]:
    rows = await session.scalars(select(Tenant.name).where(Tenant.id.in_(tenant_ids)).order_by(Tenant.id))
    return list(rows)


async def add_client(
    session: AsyncSession, tenant_id: int, *, client_id: str, secret_hash: str
) -> OAuthClient:
    return await inserted(
        session,
        OAuthClient(tenant_id=tenant_id, client_id=client_id, secret_hash=secret_hash, created_at=utcnow()),
    )


async def client_by_client_id(
    session: AsyncSession, client_id: str, *, include_revoked: bool = False
) -> OAuthClient | None:
    query = select(OAuthClient).where(OAuthClient.client_id == client_id)
    if not include_revoked:
        query = query.where(OAuthClient.revoked_at.is_(None))
    return await session.scalar(query)


async def revoke_client(session: AsyncSession, client: OAuthClient, *, at: datetime | None = None) -> None:
    await revoked(session, client, at=at)


async def grant(session: AsyncSession, client: OAuthClient, tenant_id: int) -> None:
    """Let the client use the area keys of ``tenant_id``; granting twice changes nothing."""
    found = await session.scalar(
        select(ClientGrant.id).where(ClientGrant.client_pk == client.id, ClientGrant.tenant_id == tenant_id)
    )
    if found is None:
        session.add(ClientGrant(client_pk=client.id, tenant_id=tenant_id))
        await session.flush()


async def granted_tenant_ids(session: AsyncSession, client: OAuthClient) -> list[int]:
    rows = await session.scalars(
        select(ClientGrant.tenant_id)
        .where(ClientGrant.client_pk == client.id)
        .order_by(ClientGrant.tenant_id)
    )
    return list(rows)


async def add_area_key(
    session: AsyncSession,
    tenant_id: int,
    *,
    key_digest: str,
    prefix: str,
    per_second: int | None,
    per_day: int | None,
) -> AreaKey:
    return await inserted(
        session,
        AreaKey(
            tenant_id=tenant_id,
            key_digest=key_digest,
            prefix=prefix,
            per_second=per_second,
            per_day=per_day,
            created_at=utcnow(),
        ),
    )


async def list_area_keys(session: AsyncSession, tenant_id: int) -> Sequence[AreaKey]:
    return (
        await session.scalars(select(AreaKey).where(AreaKey.tenant_id == tenant_id).order_by(AreaKey.id))
    ).all()


async def revoke_area_key(session: AsyncSession, tenant_id: int, key_id: int) -> AreaKey:
    """Revoke the tenant's area key; revoking it again keeps the first time."""
    area_key = await one_or_not_found(
        session,
        select(AreaKey).where(AreaKey.tenant_id == tenant_id, AreaKey.id == key_id),
        "Area key",
        key_id,
    )
    return await revoked(session, area_key)


async def list_clients(session: AsyncSession, tenant_id: int) -> Sequence[OAuthClient]:
    return (
        await session.scalars(
            select(OAuthClient).where(OAuthClient.tenant_id == tenant_id).order_by(OAuthClient.id)
        )
    ).all()


# Asked on every request of the integration API: built once per number of digests (one per configured
# secret key), with the digests and client as plain parameters. An expanding IN would have the statement
# written again at every execution.
@lru_cache(maxsize=16)
def _granted_area(digests: int) -> Select[int, int, int | None, int | None]:
    return (
        select(AreaKey.id, AreaKey.tenant_id, AreaKey.per_second, AreaKey.per_day)
        .join(ClientGrant, ClientGrant.tenant_id == AreaKey.tenant_id)
        .join(OAuthClient, OAuthClient.id == ClientGrant.client_pk)
        .where(
            AreaKey.key_digest.in_([bindparam(f"key_digest_{n}") for n in range(digests)]),
            AreaKey.revoked_at.is_(None),
            OAuthClient.client_id == bindparam("client_id"),
            OAuthClient.revoked_at.is_(None),
        )
        .limit(1)
    )


async def granted_area(
    session: AsyncSession, client_id: str, key_digests: Sequence[str]
) -> GrantedArea | None:
    """The live area key stored under any of ``key_digests``, if the live client is granted its tenant.

    One query: the area key, the client and the grant between them must all hold. It runs on the
    session's connection: it loads no ORM objects, and the ORM's execute would cost as much again.
    """
    if not key_digests:
        return None
    parameters = {f"key_digest_{n}": digest for n, digest in enumerate(key_digests)}
    parameters["client_id"] = client_id
    connection = await session.connection()
    row = (await connection.execute(_granted_area(len(key_digests)), parameters)).first()
    if row is None:
        return None
    return GrantedArea(key_id=row.id, tenant_id=row.tenant_id, per_second=row.per_second, per_day=row.per_day)


async def live_client(session: AsyncSession, client_id: str) -> bool:
    found = await session.scalar(
        select(OAuthClient.id).where(OAuthClient.client_id == client_id, OAuthClient.revoked_at.is_(None))
    )
    return found is not None
