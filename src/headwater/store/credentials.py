"""Tenants and their credentials: touchpoints, partners and partner sessions.

Tenants are the top of the hierarchy, so their functions take no tenant. Everything else takes the
tenant, except ``find_touchpoint``: a touchpoint's code and token are what *tell* which tenant a request
belongs to, so that one lookup is by the token's keyed digest, which is unique across all tenants.
Tokens and passwords arrive here already hashed; this module stores and finds, it does not decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.clock import utcnow
from headwater.store.queries import inserted, one_or_not_found, refuse_taken, revoked
from headwater.store.tables import Partner, PartnerSession, Tenant, Touchpoint


async def create_tenant(session: AsyncSession, name: str) -> Tenant:
    await refuse_taken(
        session,
        select(Tenant.id).where(Tenant.name == name),
        "name",
        f"a tenant named {name!r} already exists",
    )
    return await inserted(session, Tenant(name=name, created_at=utcnow()))


async def list_tenants(session: AsyncSession) -> Sequence[Tenant]:
    return (await session.scalars(select(Tenant).order_by(Tenant.id))).all()


async def count_tenants(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Tenant)) or 0)


async def get_tenant_by_name(session: AsyncSession, name: str) -> Tenant:
    return await one_or_not_found(session, select(Tenant).where(Tenant.name == name), "Tenant", name)


def _touchpoint(tenant_id: int, code: str) -> Select[Touchpoint]:
    return select(Touchpoint).where(Touchpoint.tenant_id == tenant_id, Touchpoint.code == code)


async def create_touchpoint(
    session: AsyncSession, tenant_id: int, code: str, *, token_digest: str, token_hash: str
) -> Touchpoint:
    await refuse_taken(
        session, _touchpoint(tenant_id, code), "code", f"the tenant already has a touchpoint {code!r}"
    )
    now = utcnow()
    return await inserted(
        session,
        Touchpoint(
            tenant_id=tenant_id,
            code=code,
            type="REST",
            token_digest=token_digest,
            token_hash=token_hash,
            created_at=now,
            token_issued_at=now,
        ),
    )


async def list_touchpoints(session: AsyncSession, tenant_id: int) -> Sequence[Touchpoint]:
    return (
        await session.scalars(
            select(Touchpoint).where(Touchpoint.tenant_id == tenant_id).order_by(Touchpoint.id)
        )
    ).all()


async def get_touchpoint(session: AsyncSession, tenant_id: int, code: str) -> Touchpoint:
    return await one_or_not_found(session, _touchpoint(tenant_id, code), "Touchpoint", code)


async def find_touchpoint(
    session: AsyncSession, code: str, token_digests: Sequence[str]
) -> Touchpoint | None:
    """The live touchpoint with this code whose token has one of these digests, in whichever tenant."""
    if not token_digests:
        return None
    found: Touchpoint | None = await session.scalar(
        select(Touchpoint).where(
            Touchpoint.code == code,
            Touchpoint.token_digest.in_(token_digests),
            Touchpoint.revoked_at.is_(None),
        )
    )
    return found


async def replace_touchpoint_token(
    session: AsyncSession, touchpoint: Touchpoint, *, token_digest: str, token_hash: str
) -> Touchpoint:
    """The touchpoint with a new token (the old one no longer matches), live again if it was revoked."""
    touchpoint.token_digest = token_digest
    touchpoint.token_hash = token_hash
    touchpoint.token_issued_at = utcnow()
    touchpoint.revoked_at = None
    await session.flush()
    return touchpoint


async def revoke_touchpoint(session: AsyncSession, touchpoint: Touchpoint) -> Touchpoint:
    """Revoke the touchpoint; revoking it again keeps the first time."""
    return await revoked(session, touchpoint)


def _partner(tenant_id: int, principal: str) -> Select[Partner]:
    return select(Partner).where(Partner.tenant_id == tenant_id, Partner.principal == principal)


async def create_partner(
    session: AsyncSession,
    tenant_id: int,
    principal: str,
    *,
    password_hash: str,
    first_name: str | None = None,
    last_name: str | None = None,
    email: str | None = None,
) -> Partner:
    await refuse_taken(
        session,
        _partner(tenant_id, principal),
        "principal",
        f"the tenant already has a partner {principal!r}",
    )
    now = utcnow()
    return await inserted(
        session,
        Partner(
            tenant_id=tenant_id,
            principal=principal,
            password_hash=password_hash,
            first_name=first_name,
            last_name=last_name,
            email=email,
            created_at=now,
            password_set_at=now,
        ),
    )


async def list_partners(session: AsyncSession, tenant_id: int) -> Sequence[Partner]:
    return (
        await session.scalars(select(Partner).where(Partner.tenant_id == tenant_id).order_by(Partner.id))
    ).all()


async def find_partner_by_principal(session: AsyncSession, tenant_id: int, principal: str) -> Partner | None:
    found: Partner | None = await session.scalar(_partner(tenant_id, principal))
    return found


async def get_partner_by_principal(session: AsyncSession, tenant_id: int, principal: str) -> Partner:
    return await one_or_not_found(session, _partner(tenant_id, principal), "Partner", principal)


async def replace_partner_password(session: AsyncSession, partner: Partner, *, password_hash: str) -> Partner:
    """The partner with a new password, live again if it was revoked."""
    partner.password_hash = password_hash
    partner.password_set_at = utcnow()
    partner.revoked_at = None
    await session.flush()
    return partner


async def revoke_partner(session: AsyncSession, partner: Partner) -> Partner:
    """Revoke the partner; revoking it again keeps the first time."""
    return await revoked(session, partner)


async def get_partner(session: AsyncSession, tenant_id: int, partner_id: int) -> Partner:
    return await one_or_not_found(
        session,
        select(Partner).where(Partner.tenant_id == tenant_id, Partner.id == partner_id),
        "Partner",
        partner_id,
    )


async def create_session(
    session: AsyncSession, tenant_id: int, partner_id: int, *, token_digest: str, expires_at: datetime
) -> PartnerSession:
    return await inserted(
        session,
        PartnerSession(
            tenant_id=tenant_id,
            partner_id=partner_id,
            token_digest=token_digest,
            created_at=utcnow(),
            expires_at=expires_at,
        ),
    )


async def find_session(
    session: AsyncSession, tenant_id: int, token_digests: Sequence[str], *, now: datetime
) -> PartnerSession | None:
    """The tenant's unexpired session whose token has one of these digests."""
    if not token_digests:
        return None
    found: PartnerSession | None = await session.scalar(
        select(PartnerSession).where(
            PartnerSession.tenant_id == tenant_id,
            PartnerSession.token_digest.in_(token_digests),
            PartnerSession.expires_at > now,
        )
    )
    return found


async def delete_session(session: AsyncSession, tenant_id: int, session_id: int) -> None:
    await session.execute(
        delete(PartnerSession).where(PartnerSession.tenant_id == tenant_id, PartnerSession.id == session_id)
    )


async def delete_partner_sessions(session: AsyncSession, tenant_id: int, partner_id: int) -> int:
    result = await session.execute(
        delete(PartnerSession).where(
            PartnerSession.tenant_id == tenant_id, PartnerSession.partner_id == partner_id
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_expired_sessions(session: AsyncSession, tenant_id: int, *, now: datetime) -> int:
    result = await session.execute(
        delete(PartnerSession).where(PartnerSession.tenant_id == tenant_id, PartnerSession.expires_at <= now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
