"""OAuth2 clients of the integration API: issue them, grant them areas, revoke them, and their tokens.

A client authenticates with its id and secret (client credentials grant) and receives a signed,
short-lived access token (JWT, HS256). The signing keys are derived from the configured secret keys,
so a rotation that drops an old key also ends the tokens it signed. Every request re-reads the client
row, so revoking a client ends its tokens at once, not when they expire.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import anyio
import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.access.credentials import usable_credential
from headwater.access.crypto import SecretBox, hash_secret, new_token
from headwater.access.guard import Attempt, AuthGuard
from headwater.clock import utcnow
from headwater.errors import AuthenticationFailed, NotFound, PermissionDenied
from headwater.store import oauth as store
from headwater.store.credentials import get_tenant_by_name
from headwater.store.database import Database

# Fixed starts keep the values recognisable (and findable by secret scanners) and never make one
# begin with "-", which a command line would take for an option.
CLIENT_ID_START = "hwc_"
TOKEN_ISSUER = "headwater"
TOKEN_ALGORITHM = "HS256"
MAX_CREDENTIAL_LENGTH = 500
# Signing keys are HMACs of this label under each digest key: secret, stable, rotated with them.
_SIGNING_LABEL = "headwater:integration:access-token-signing-key"


class InvalidClient(AuthenticationFailed):
    """Unknown or revoked client, or a wrong secret (RFC 6749 ``invalid_client``)."""

    code = "invalid_client"


class InvalidAccessToken(AuthenticationFailed):
    """Missing, malformed, expired or foreign access token, or one of a revoked client."""

    code = "invalid_token"


class AreaNotGranted(PermissionDenied):
    """Missing or unknown ``x-api-key``, or the key of a tenant the client is not granted."""

    code = "area_not_granted"


@dataclass(frozen=True)
class IssuedClient:
    id: int
    client_id: str
    tenant_id: int
    tenant: str
    granted: list[str]
    created_at: datetime
    secret: str = field(repr=False)


@dataclass(frozen=True)
class ClientInfo:
    """What the operator may see of a client after it was created: never its secret."""

    client_id: str
    tenant: str
    granted: list[str]
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class AccessToken:
    access_token: str = field(repr=False)
    expires_in: int
    token_type: str = "Bearer"


def _signing_keys(box: SecretBox) -> list[str]:
    return box.digests(_SIGNING_LABEL)


async def create_client(
    session: AsyncSession, tenant_name: str, grant_names: Sequence[str] = ()
) -> IssuedClient:
    """A new client of the tenant, granted its own tenant and ``grant_names``; the secret is shown once."""
    tenant = await get_tenant_by_name(session, tenant_name)
    granted_ids = [tenant.id]
    for name in grant_names:
        other = await get_tenant_by_name(session, name)
        if other.id not in granted_ids:
            granted_ids.append(other.id)
    client_id = CLIENT_ID_START + secrets.token_hex(12)
    secret = new_token(32)
    secret_hash = await anyio.to_thread.run_sync(hash_secret, secret)
    client = await store.add_client(session, tenant.id, client_id=client_id, secret_hash=secret_hash)
    for tenant_id in granted_ids:
        await store.grant(session, client, tenant_id)
    return IssuedClient(
        id=client.id,
        client_id=client_id,
        tenant_id=tenant.id,
        tenant=tenant.name,
        granted=await store.tenant_names(session, granted_ids),
        created_at=client.created_at,
        secret=secret,
    )


async def list_clients(session: AsyncSession, tenant_name: str) -> list[ClientInfo]:
    tenant = await get_tenant_by_name(session, tenant_name)
    return [
        ClientInfo(
            client_id=client.client_id,
            tenant=tenant.name,
            granted=await store.tenant_names(session, await store.granted_tenant_ids(session, client)),
            created_at=client.created_at,
            revoked_at=client.revoked_at,
        )
        for client in await store.list_clients(session, tenant.id)
    ]


async def grant_client(session: AsyncSession, client_id: str, tenant_name: str) -> list[str]:
    """Let a live client use the area keys of another tenant; answers the names of all its tenants."""
    client = await store.client_by_client_id(session, client_id)
    if client is None:
        raise NotFound("OAuth client", client_id)
    tenant = await get_tenant_by_name(session, tenant_name)
    await store.grant(session, client, tenant.id)
    return await store.tenant_names(session, await store.granted_tenant_ids(session, client))


async def revoke_client(session: AsyncSession, client_id: str) -> datetime:
    """Revoke a client and so every token it holds; revoking again keeps the first time."""
    client = await store.client_by_client_id(session, client_id, include_revoked=True)
    if client is None:
        raise NotFound("OAuth client", client_id)
    await store.revoke_client(session, client)
    assert client.revoked_at is not None
    return client.revoked_at


async def issue_token(
    db: Database,
    box: SecretBox,
    guard: AuthGuard,
    client_id: str | None,
    secret: str | None,
    *,
    address: str,
    ttl_seconds: int,
    now: datetime | None = None,
) -> AccessToken:
    """An access token for a live client whose secret matches; ``InvalidClient`` otherwise.

    The secret is checked through ``guard`` after the client row is read, holding no connection.
    """
    attempt = Attempt(
        "client", address, client_id if usable_credential(client_id, MAX_CREDENTIAL_LENGTH) else None
    )
    async with guard.turn(attempt) as turn:
        client = None
        if attempt.principal is not None:
            async with db.session() as session:
                client = await store.client_by_client_id(session, attempt.principal)
        hashed = client.secret_hash if client is not None else None
        matches = usable_credential(secret, MAX_CREDENTIAL_LENGTH) and await turn.verify(hashed, secret or "")
        if client is None or not matches:
            await turn.failed()
            raise InvalidClient("unknown client or wrong secret")
    issued_at = now or utcnow()
    claims = {
        "iss": TOKEN_ISSUER,
        "sub": client.client_id,
        "iat": int(issued_at.timestamp()),
        "exp": int((issued_at + timedelta(seconds=ttl_seconds)).timestamp()),
        "jti": secrets.token_hex(8),
    }
    token = jwt.encode(claims, _signing_keys(box)[0], algorithm=TOKEN_ALGORITHM)
    return AccessToken(access_token=token, expires_in=ttl_seconds)


def token_client_id(box: SecretBox, token: str | None) -> str:
    """The client id a well-signed, unexpired token was issued to (no database: see ``authorize``)."""
    if not token or len(token) > 4096:
        raise InvalidAccessToken("no access token")
    for key in _signing_keys(box):
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[TOKEN_ALGORITHM],
                issuer=TOKEN_ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.InvalidSignatureError:
            continue  # perhaps signed under an older key still configured
        except jwt.PyJWTError as exc:
            raise InvalidAccessToken("invalid or expired access token") from exc
        subject = claims["sub"]
        if not isinstance(subject, str):
            raise InvalidAccessToken("invalid access token")
        return subject
    raise InvalidAccessToken("invalid access token")


@dataclass(frozen=True)
class Area:
    """Who is calling and for which tenant: the outcome of a request's two credentials."""

    client_id: str
    tenant_id: int
    key_id: int
    # The key's own limits; None means the configured defaults.
    per_second: int | None
    per_day: int | None
    # What the rate limiter counts under: unique per key, never the key itself.
    limit_key: str = field(repr=False)


async def authorize(session: AsyncSession, box: SecretBox, token: str | None, api_key: str | None) -> Area:
    """The area of a request: a valid token of a live client and a live area key of a granted tenant."""
    client_id = token_client_id(box, token)
    if not usable_credential(api_key, MAX_CREDENTIAL_LENGTH) or api_key is None:
        if not await store.live_client(session, client_id):
            raise InvalidAccessToken("the client is revoked")
        raise AreaNotGranted("no x-api-key")
    digests = box.digests(api_key)
    granted = await store.granted_area(session, client_id, digests)
    if granted is None:
        if not await store.live_client(session, client_id):
            raise InvalidAccessToken("the client is revoked")
        raise AreaNotGranted("the x-api-key is unknown or not granted to this client")
    return Area(
        client_id=client_id,
        tenant_id=granted.tenant_id,
        key_id=granted.key_id,
        per_second=granted.per_second,
        per_day=granted.per_day,
        limit_key=digests[0][:32],
    )


__all__ = [
    "AccessToken",
    "Area",
    "AreaNotGranted",
    "ClientInfo",
    "InvalidAccessToken",
    "InvalidClient",
    "IssuedClient",
    "authorize",
    "create_client",
    "grant_client",
    "issue_token",
    "list_clients",
    "revoke_client",
    "token_client_id",
]
