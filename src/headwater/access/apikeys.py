"""API keys of the data sources API: issue one for a tenant, revoke it, and tell whose a key is.

A key is random and high in entropy, so a keyed digest (HMAC) is enough to store and find it: no
argon2 round per request. The key itself is handed back once, when issued; afterwards only its
first characters (``prefix``) identify it to the operator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from headwater.access.crypto import SecretBox, new_token
from headwater.errors import AuthenticationFailed, NotFound
from headwater.store import apikeys as store

# A fixed start keeps keys recognisable (and findable by secret scanners) and never makes one begin
# with "-", which a command line would take for an option.
KEY_START = "hwk_"
PREFIX_LENGTH = 12
MAX_KEY_LENGTH = 200


class InvalidApiKey(AuthenticationFailed):
    """Missing, unknown or revoked API key."""

    code = "InvalidApiKey"


@dataclass(frozen=True)
class IssuedKey:
    id: int
    tenant_id: int
    tenant: str
    prefix: str
    created_at: datetime
    key: str = field(repr=False)


@dataclass(frozen=True)
class KeyInfo:
    """What the operator may see of a key after it was issued: never the key itself."""

    id: int
    tenant: str
    masked: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewKey:
    """A key just made: the key itself (handed back once), the keyed digest it is stored and found by,
    and the first characters that name it to the operator."""

    key: str = field(repr=False)
    digest: str
    prefix: str


def new_key(box: SecretBox, start: str) -> NewKey:
    """A random key beginning with ``start``; area keys are made the same way as API keys."""
    key = start + new_token(24)
    return NewKey(key=key, digest=box.digest(key), prefix=key[:PREFIX_LENGTH])


def masked(prefix: str) -> str:
    """The first characters of a key followed by stars: enough to recognise it, never to use it."""
    return prefix + "*" * 8


@dataclass(frozen=True)
class RevokedKey:
    id: int
    tenant_id: int
    tenant: str
    prefix: str
    revoked_at: datetime


def _usable(key: str | None) -> str | None:
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return key


async def issue(session: AsyncSession, box: SecretBox, tenant_id: int) -> IssuedKey:
    tenant = await store.get_tenant(session, tenant_id)
    new = new_key(box, KEY_START)
    row = await store.add(session, tenant.id, key_digest=new.digest, prefix=new.prefix)
    return IssuedKey(
        id=row.id,
        tenant_id=tenant.id,
        tenant=tenant.name,
        prefix=row.prefix,
        created_at=row.created_at,
        key=new.key,
    )


async def issue_for_tenant_name(session: AsyncSession, box: SecretBox, tenant_name: str) -> IssuedKey:
    tenant = await store.get_tenant_by_name(session, tenant_name)
    return await issue(session, box, tenant.id)


async def revoke(session: AsyncSession, box: SecretBox, key: str) -> RevokedKey:
    """Revoke a key; revoking it again keeps the first revocation time. Unknown: ``NotFound``."""
    usable = _usable(key)
    row = (
        None
        if usable is None
        else await store.find_by_digests(session, box.digests(usable), include_revoked=True)
    )
    if row is None:
        # Never name the key in the message: it may be a live secret mistyped by one character.
        raise NotFound("API key")
    row = await store.revoke(session, row.tenant_id, row.id)
    tenant = await store.get_tenant(session, row.tenant_id)
    assert row.revoked_at is not None
    return RevokedKey(
        id=row.id, tenant_id=tenant.id, tenant=tenant.name, prefix=row.prefix, revoked_at=row.revoked_at
    )


async def list_keys(session: AsyncSession, tenant_name: str) -> list[KeyInfo]:
    tenant = await store.get_tenant_by_name(session, tenant_name)
    return [
        KeyInfo(
            id=row.id,
            tenant=tenant.name,
            masked=masked(row.prefix),
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )
        for row in await store.list_for_tenant(session, tenant.id)
    ]


async def authenticate(session: AsyncSession, box: SecretBox, key: str | None) -> int:
    """The id of the tenant a live key belongs to; ``InvalidApiKey`` otherwise."""
    usable = _usable(key)
    row = None if usable is None else await store.find_by_digests(session, box.digests(usable))
    if row is None:
        raise InvalidApiKey("No valid API key provided")
    return row.tenant_id


async def revoke_by_id(session: AsyncSession, tenant_id: int, key_id: int) -> RevokedKey:
    """Revoke one of the tenant's keys by its id (as ``list_keys`` shows it); another tenant's is ``NotFound``."""
    row = await store.revoke(session, tenant_id, key_id)
    tenant = await store.get_tenant(session, tenant_id)
    assert row.revoked_at is not None
    return RevokedKey(
        id=row.id, tenant_id=tenant.id, tenant=tenant.name, prefix=row.prefix, revoked_at=row.revoked_at
    )
