"""Operators: the people who run an installation. They sign in to the console with a principal and a
password (no tenant) and see every tenant. Created on the command line; a generated password is shown
once and only its argon2 hash is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.access.auth import InvalidCredentials, NotLoggedIn
from headwater.access.credentials import MIN_PASSWORD_LENGTH, plain_text
from headwater.access.crypto import SecretBox, hash_secret, new_password, new_token
from headwater.access.guard import Attempt, AuthGuard
from headwater.clock import utcnow
from headwater.errors import FieldProblem, ValidationFailed
from headwater.store import operators as store
from headwater.store.database import Database
from headwater.store.tables import Operator


@dataclass(frozen=True)
class IssuedOperator:
    operator: Operator
    generated_password: str | None = field(repr=False)


@dataclass(frozen=True)
class OperatorContext:
    operator_id: int
    principal: str
    session_id: int


@dataclass(frozen=True)
class NewOperatorSession:
    operator: OperatorContext
    token: str = field(repr=False)
    expires_at: datetime


def _checked(principal: str, password: str | None) -> str:
    principal = principal.strip()
    problems = []
    if not principal or len(principal) > 200 or not plain_text(principal):
        problems.append(
            FieldProblem("principal", "InvalidPrincipal", "principal must be 1-200 printable characters")
        )
    if password is not None and (len(password) < MIN_PASSWORD_LENGTH or not plain_text(password)):
        problems.append(
            FieldProblem(
                "password",
                "InvalidPassword",
                f"password must be at least {MIN_PASSWORD_LENGTH} printable characters",
            )
        )
    if problems:
        raise ValidationFailed(problems)
    return principal


async def create_operator(
    session: AsyncSession, principal: str, *, password: str | None = None
) -> IssuedOperator:
    principal = _checked(principal, password)
    generated = None
    if password is None:
        password = generated = new_password()
    password_hash = await anyio.to_thread.run_sync(hash_secret, password)
    operator = await store.create(session, principal, password_hash=password_hash)
    return IssuedOperator(operator=operator, generated_password=generated)


async def login_operator(
    db: Database,
    box: SecretBox,
    guard: AuthGuard,
    principal: str,
    password: str,
    *,
    address: str,
    ttl_seconds: int,
) -> NewOperatorSession:
    """A new console session; ``InvalidCredentials`` for a wrong principal or password.

    The password is checked through the guard like every other secret: between two transactions,
    bounded, and throttled per address and per principal."""
    if not principal or not password or len(principal) > 200 or len(password) > 1000:
        raise InvalidCredentials("principal or password is wrong")
    async with guard.turn(Attempt("operator", address, principal)) as turn:
        async with db.session() as session:
            operator = await store.find_by_principal(session, principal)
        hashed = operator.password_hash if operator is not None else None
        if not await turn.verify(hashed, password) or operator is None:
            await turn.failed()
            raise InvalidCredentials("principal or password is wrong")
    now = utcnow()
    token = new_token()
    expires_at = now + timedelta(seconds=ttl_seconds)
    async with db.session() as session:
        await store.delete_expired_sessions(session, now=now)
        row = await store.create_session(
            session, operator.id, token_digest=box.digest(token), expires_at=expires_at
        )
    context = OperatorContext(operator_id=operator.id, principal=operator.principal, session_id=row.id)
    return NewOperatorSession(operator=context, token=token, expires_at=expires_at)


async def operator_from_session(session: AsyncSession, box: SecretBox, token: str | None) -> OperatorContext:
    if not token or len(token) > 1000:
        raise NotLoggedIn("no operator is signed in")
    row = await store.find_session(session, box.digests(token), now=utcnow())
    if row is None:
        raise NotLoggedIn("no operator is signed in")
    operator = await store.get(session, row.operator_id)
    return OperatorContext(operator_id=operator.id, principal=operator.principal, session_id=row.id)


async def logout_operator(session: AsyncSession, box: SecretBox, token: str | None) -> None:
    context = await operator_from_session(session, box, token)
    await store.delete_session(session, context.session_id)
