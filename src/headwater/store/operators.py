"""Operators and their console sessions. Operators belong to no tenant: they run the installation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.clock import utcnow
from headwater.store.queries import inserted, one_or_not_found, refuse_taken
from headwater.store.tables import Operator, OperatorSession


async def create(session: AsyncSession, principal: str, *, password_hash: str) -> Operator:
    await refuse_taken(
        session,
        select(Operator.id).where(Operator.principal == principal),
        "principal",
        f"an operator {principal!r} already exists",
    )
    return await inserted(
        session, Operator(principal=principal, password_hash=password_hash, created_at=utcnow())
    )


async def list_(session: AsyncSession) -> Sequence[Operator]:
    return (await session.scalars(select(Operator).order_by(Operator.id))).all()


async def find_by_principal(session: AsyncSession, principal: str) -> Operator | None:
    found: Operator | None = await session.scalar(select(Operator).where(Operator.principal == principal))
    return found


async def get(session: AsyncSession, operator_id: int) -> Operator:
    return await one_or_not_found(
        session, select(Operator).where(Operator.id == operator_id), "Operator", operator_id
    )


async def delete_operator(session: AsyncSession, principal: str) -> None:
    """The operator and, by cascade, every session of theirs."""
    operator = await one_or_not_found(
        session, select(Operator).where(Operator.principal == principal), "Operator", principal
    )
    await session.delete(operator)
    await session.flush()


async def create_session(
    session: AsyncSession, operator_id: int, *, token_digest: str, expires_at: datetime
) -> OperatorSession:
    return await inserted(
        session,
        OperatorSession(
            operator_id=operator_id, token_digest=token_digest, created_at=utcnow(), expires_at=expires_at
        ),
    )


async def find_session(
    session: AsyncSession, token_digests: Sequence[str], *, now: datetime
) -> OperatorSession | None:
    if not token_digests:
        return None
    found: OperatorSession | None = await session.scalar(
        select(OperatorSession).where(
            OperatorSession.token_digest.in_(token_digests), OperatorSession.expires_at > now
        )
    )
    return found


async def delete_session(session: AsyncSession, session_id: int) -> None:
    await session.execute(delete(OperatorSession).where(OperatorSession.id == session_id))


async def delete_expired_sessions(session: AsyncSession, *, now: datetime) -> None:
    await session.execute(delete(OperatorSession).where(OperatorSession.expires_at <= now))
