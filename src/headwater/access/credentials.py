"""Issuing credentials: tenants, touchpoints with their tokens, partners with their passwords.

Used by the operator's command line and by the first start. A generated token or password is handed
back exactly once, to be shown to the operator; only its digest and argon2 hash are stored.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.access.crypto import SecretBox, hash_secret, new_password, new_token
from headwater.errors import FieldProblem, ValidationFailed
from headwater.store import credentials as store
from headwater.store.tables import Partner, Tenant, Touchpoint

_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
MIN_PASSWORD_LENGTH = 8


def plain_text(value: str) -> bool:
    """Text without control characters or lone surrogates: safe to store, compare and print."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value)


def usable_credential(value: str | None, max_length: int) -> bool:
    """A credential worth looking up: given, at most ``max_length`` long and plain text."""
    return bool(value) and len(value or "") <= max_length and plain_text(value or "")


def _check_name(value: str, field_name: str, max_length: int) -> str:
    value = value.strip()
    if not value:
        raise ValidationFailed(
            [FieldProblem(field_name, f"{field_name.capitalize()}Required", f"{field_name} is required")]
        )
    if len(value) > max_length or not plain_text(value):
        raise ValidationFailed(
            [
                FieldProblem(
                    field_name,
                    f"Invalid{field_name.capitalize()}",
                    f"{field_name} must be at most {max_length} printable characters",
                )
            ]
        )
    return value


@dataclass(frozen=True)
class IssuedTouchpoint:
    touchpoint: Touchpoint
    token: str = field(repr=False)


@dataclass(frozen=True)
class IssuedPartner:
    partner: Partner
    # Set only when headwater generated the password: the operator must see it once.
    generated_password: str | None = field(repr=False)
    # Sessions ended by a password reset (none for a new partner).
    sessions_ended: int = 0


@dataclass(frozen=True)
class RevokedPartner:
    partner: Partner
    sessions_ended: int


def _password_or_generated(password: str | None) -> tuple[str, str | None]:
    """The password to set and, when headwater made it up, the same value to show once."""
    if password is None:
        generated = new_password()
        return generated, generated
    if len(password) < MIN_PASSWORD_LENGTH or not plain_text(password):
        raise ValidationFailed(
            [
                FieldProblem(
                    "password",
                    "InvalidPassword",
                    f"password must be at least {MIN_PASSWORD_LENGTH} printable characters",
                )
            ]
        )
    return password, None


async def create_tenant(session: AsyncSession, name: str) -> Tenant:
    return await store.create_tenant(session, _check_name(name, "name", 200))


async def create_touchpoint(
    session: AsyncSession, box: SecretBox, tenant_id: int, code: str
) -> IssuedTouchpoint:
    code = code.strip()
    if not _CODE.match(code):
        raise ValidationFailed(
            [FieldProblem("code", "InvalidCode", "code must be 1 to 100 letters, digits, '_', '.' or '-'")]
        )
    token = new_token()
    token_hash = await anyio.to_thread.run_sync(hash_secret, token)
    touchpoint = await store.create_touchpoint(
        session, tenant_id, code, token_digest=box.digest(token), token_hash=token_hash
    )
    return IssuedTouchpoint(touchpoint=touchpoint, token=token)


async def create_partner(
    session: AsyncSession,
    tenant_id: int,
    principal: str,
    *,
    password: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    email: str | None = None,
) -> IssuedPartner:
    principal = _check_name(principal, "principal", 200)
    if ":" in principal:
        # HTTP Basic splits user and password at the first colon.
        raise ValidationFailed(
            [FieldProblem("principal", "InvalidPrincipal", "principal must not contain ':'")]
        )
    password, generated = _password_or_generated(password)
    password_hash = await anyio.to_thread.run_sync(hash_secret, password)
    partner = await store.create_partner(
        session,
        tenant_id,
        principal,
        password_hash=password_hash,
        first_name=first_name,
        last_name=last_name,
        email=email,
    )
    return IssuedPartner(partner=partner, generated_password=generated)


async def rotate_touchpoint(
    session: AsyncSession, box: SecretBox, tenant_id: int, code: str
) -> IssuedTouchpoint:
    """A new token for the touchpoint, shown once; the old token stops matching at once.

    A revoked touchpoint is live again with the new token.
    """
    touchpoint = await store.get_touchpoint(session, tenant_id, code.strip())
    token = new_token()
    token_hash = await anyio.to_thread.run_sync(hash_secret, token)
    touchpoint = await store.replace_touchpoint_token(
        session, touchpoint, token_digest=box.digest(token), token_hash=token_hash
    )
    return IssuedTouchpoint(touchpoint=touchpoint, token=token)


async def revoke_touchpoint(session: AsyncSession, tenant_id: int, code: str) -> Touchpoint:
    """Refuse the touchpoint's token from now on; ``rotate_touchpoint`` issues a new one."""
    return await store.revoke_touchpoint(
        session, await store.get_touchpoint(session, tenant_id, code.strip())
    )


async def reset_partner_password(
    session: AsyncSession, tenant_id: int, principal: str, *, password: str | None = None
) -> IssuedPartner:
    """Set a new password (generated and shown once when left out) and end the partner's sessions.

    A revoked partner is live again with the new password.
    """
    partner = await store.get_partner_by_principal(session, tenant_id, principal.strip())
    password, generated = _password_or_generated(password)
    password_hash = await anyio.to_thread.run_sync(hash_secret, password)
    partner = await store.replace_partner_password(session, partner, password_hash=password_hash)
    ended = await store.delete_partner_sessions(session, tenant_id, partner.id)
    return IssuedPartner(partner=partner, generated_password=generated, sessions_ended=ended)


async def revoke_partner(session: AsyncSession, tenant_id: int, principal: str) -> RevokedPartner:
    """Refuse the partner's password from now on and end its sessions at once."""
    partner = await store.get_partner_by_principal(session, tenant_id, principal.strip())
    partner = await store.revoke_partner(session, partner)
    ended = await store.delete_partner_sessions(session, tenant_id, partner.id)
    return RevokedPartner(partner=partner, sessions_ended=ended)
