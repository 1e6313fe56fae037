"""Who is calling: touchpoints (code + token) and partners (session or principal + password).

Plain async Python; the dialects read the credentials off the request and call these. Each failure
is its own ``AuthenticationFailed`` variant so that a dialect can tell them apart. Hashed secrets
are checked through the ``AuthGuard`` (bounded, throttled) holding no database connection: the row
is read in one short transaction, and whatever must be written happens in another.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.access.credentials import usable_credential
from headwater.access.crypto import SecretBox, new_token
from headwater.access.guard import Attempt, AuthGuard
from headwater.clock import utcnow
from headwater.errors import AuthenticationFailed, HeadwaterError
from headwater.store import credentials as store
from headwater.store.database import Database
from headwater.store.tables import Partner


class InvalidTouchpoint(AuthenticationFailed):
    """Missing or wrong touchpoint code or token."""

    code = "InvalidToken"


class NotLoggedIn(AuthenticationFailed):
    """No live partner session (none given, expired or ended)."""

    code = "NotLoggedIn"


class InvalidCredentials(AuthenticationFailed):
    """Wrong principal or password."""

    code = "InvalidCredentials"


class AlreadyLoggedIn(HeadwaterError):
    code = "PartyAlreadyLoggedin"


@dataclass(frozen=True)
class TouchpointContext:
    tenant_id: int
    touchpoint_id: int
    code: str


@dataclass(frozen=True)
class PartnerContext:
    tenant_id: int
    partner_id: int
    principal: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    # The session the partner came with; None when authenticated by HTTP Basic.
    session_id: int | None = None


@dataclass(frozen=True)
class NewSession:
    partner: PartnerContext
    token: str = field(repr=False)
    expires_at: datetime


T = TypeVar("T")


class VerifiedCache(TTLCache[str, T], Generic[T]):
    """Recently verified secrets by keyed digest, so argon2 runs once per ``ttl`` and not per request;
    beyond ``max_entries`` the least recently used go first.

    Only successes are kept, never the secrets themselves. Callers still read the credential's row on
    each request, so a revoked, rotated or reset credential is refused at once.
    """

    def __init__(self, ttl: float = 60.0, max_entries: int = 10_000) -> None:
        # The clock is looked up at each call rather than bound once, so that tests can move it.
        super().__init__(maxsize=max_entries, ttl=ttl, timer=lambda: time.monotonic())


@dataclass
class AuthCache:
    touchpoints: VerifiedCache[TouchpointContext] = field(default_factory=VerifiedCache)
    partners: VerifiedCache[PartnerContext] = field(default_factory=VerifiedCache)


# The longest token or password worth checking.
MAX_SECRET_LENGTH = 1000


async def authenticate_touchpoint(
    db: Database,
    box: SecretBox,
    guard: AuthGuard,
    code: str | None,
    token: str | None,
    *,
    address: str,
    cache: VerifiedCache[TouchpointContext] | None = None,
) -> TouchpointContext:
    """The tenant a touchpoint code and token belong to; ``InvalidTouchpoint`` otherwise.

    A token verified lately comes from ``cache`` even while its code is throttled: only the right
    token is ever cached.
    """
    if (
        code is None
        or token is None
        or not usable_credential(code, 100)
        or not usable_credential(token, MAX_SECRET_LENGTH)
    ):
        raise InvalidTouchpoint("touchpoint code and token are required and must match")
    digests = box.digests(token)
    key = f"{code}\x00{digests[0]}"
    # The row is read on every request (a short transaction, no argon2 inside), so that a rotated or
    # revoked token fails at once; the cache only spares the argon2 check of a token that matched this
    # very row recently.
    async with db.reading() as session:
        touchpoint = await store.find_touchpoint(session, code, digests)
    if (
        touchpoint is not None
        and cache is not None
        and (known := cache.get(key)) is not None
        and known.touchpoint_id == touchpoint.id
    ):
        return known
    attempt = Attempt("touchpoint", address, code)
    async with guard.turn(attempt) as turn:
        if touchpoint is None or not await turn.verify(touchpoint.token_hash, token):
            await turn.failed()
            raise InvalidTouchpoint("touchpoint code and token are required and must match")
    context = TouchpointContext(tenant_id=touchpoint.tenant_id, touchpoint_id=touchpoint.id, code=code)
    if cache is not None:
        cache[key] = context
    return context


def _context(partner: Partner, session_id: int | None = None) -> PartnerContext:
    return PartnerContext(
        tenant_id=partner.tenant_id,
        partner_id=partner.id,
        principal=partner.principal,
        first_name=partner.first_name,
        last_name=partner.last_name,
        email=partner.email,
        session_id=session_id,
    )


async def _live_partner(db: Database, tenant_id: int, principal: str, password: str) -> Partner | None:
    """The live partner of this principal, before its password is checked; None when there is none."""
    if not usable_credential(principal, 200) or not usable_credential(password, MAX_SECRET_LENGTH):
        raise InvalidCredentials("principal or password is wrong")
    async with db.reading() as session:
        partner = await store.find_partner_by_principal(session, tenant_id, principal)
    return partner if partner is not None and partner.revoked_at is None else None


async def _confirm_password(
    guard: AuthGuard, partner: Partner | None, tenant_id: int, principal: str, password: str, address: str
) -> Partner:
    """The password checked against the partner's hash (a decoy's when there is none), holding no
    database connection, through the guard."""
    attempt = Attempt("partner", address, f"{tenant_id}\x00{principal}")
    async with guard.turn(attempt) as turn:
        hashed = partner.password_hash if partner is not None else None
        if not await turn.verify(hashed, password) or partner is None:
            await turn.failed()
            raise InvalidCredentials("principal or password is wrong")
    return partner


async def _check_password(
    db: Database, guard: AuthGuard, tenant_id: int, principal: str, password: str, address: str
) -> Partner:
    partner = await _live_partner(db, tenant_id, principal, password)
    return await _confirm_password(guard, partner, tenant_id, principal, password, address)


async def partner_from_basic(
    db: Database,
    box: SecretBox,
    guard: AuthGuard,
    tenant_id: int,
    principal: str,
    password: str,
    *,
    address: str,
    cache: VerifiedCache[PartnerContext] | None = None,
) -> PartnerContext:
    """The partner named by HTTP Basic credentials; ``InvalidCredentials`` otherwise."""
    partner = await _live_partner(db, tenant_id, principal, password)
    # The key holds the stored hash: a password reset or a revocation is seen on the next request.
    key = None
    if partner is not None:
        key = box.digest(f"{tenant_id}\x00{principal}\x00{password}\x00{partner.password_hash}")
        if cache is not None and (known := cache.get(key)) is not None:
            return known
    context = _context(await _confirm_password(guard, partner, tenant_id, principal, password, address))
    if cache is not None and key is not None:
        cache[key] = context
    return context


async def partner_from_session(
    session: AsyncSession, box: SecretBox, tenant_id: int, token: str | None
) -> PartnerContext:
    """The partner of a live session of this tenant; ``NotLoggedIn`` otherwise."""
    if token is None or not usable_credential(token, MAX_SECRET_LENGTH):
        raise NotLoggedIn("no partner is logged in")
    row = await store.find_session(session, tenant_id, box.digests(token), now=utcnow())
    if row is None:
        raise NotLoggedIn("no partner is logged in")
    partner = await store.get_partner(session, tenant_id, row.partner_id)
    if partner.revoked_at is not None:
        raise NotLoggedIn("no partner is logged in")
    return _context(partner, row.id)


async def login_partner(
    db: Database,
    box: SecretBox,
    guard: AuthGuard,
    tenant_id: int,
    principal: str,
    password: str,
    *,
    address: str,
    ttl_seconds: int,
    current_token: str | None = None,
) -> NewSession:
    """Open a session; ``AlreadyLoggedIn`` when ``current_token`` is still a live session.

    The password is checked between two transactions, holding no database connection.
    """
    if current_token is not None:
        async with db.session() as session:
            try:
                await partner_from_session(session, box, tenant_id, current_token)
            except NotLoggedIn:
                pass
            else:
                raise AlreadyLoggedIn("a partner is already logged in; log out first")
    partner = await _check_password(db, guard, tenant_id, principal, password, address)
    now = utcnow()
    token = new_token()
    expires_at = now + timedelta(seconds=ttl_seconds)
    async with db.session() as session:
        await store.delete_expired_sessions(session, tenant_id, now=now)
        row = await store.create_session(
            session, tenant_id, partner.id, token_digest=box.digest(token), expires_at=expires_at
        )
    return NewSession(partner=_context(partner, row.id), token=token, expires_at=expires_at)


async def logout(session: AsyncSession, box: SecretBox, tenant_id: int, token: str | None) -> None:
    """End the session; ``NotLoggedIn`` when there is none."""
    partner = await partner_from_session(session, box, tenant_id, token)
    assert partner.session_id is not None
    await store.delete_session(session, tenant_id, partner.session_id)
