"""What every repository does the same way: "no such row", "that name is taken", inserting a row and
revoking a credential.

The queries themselves stay with their repositories, so each one still shows which tenant it is
scoped by; these helpers only turn an empty or a non-empty result into the matching headwater error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.clock import utcnow
from headwater.errors import Conflict, NotFound

T = TypeVar("T")


class Revocable(Protocol):
    revoked_at: datetime | None


R = TypeVar("R", bound=Revocable)


async def one_or_not_found(session: AsyncSession, query: Select[T], kind: str, key: object = None) -> T:
    """The row ``query`` selects, or ``NotFound(kind, key)`` when there is none."""
    found = await session.scalar(query)
    if found is None:
        raise NotFound(kind, key)
    return found


async def refuse_taken(session: AsyncSession, query: Select[Any], field: str, message: str) -> None:
    """``Conflict(field, message)`` when ``query`` finds a row already holding the value."""
    if await session.scalar(query) is not None:
        raise Conflict(field, message)


async def inserted(session: AsyncSession, row: T) -> T:
    """``row``, added and flushed in the caller's transaction, so that it has its id."""
    session.add(row)
    await session.flush()
    return row


async def revoked(session: AsyncSession, row: R, *, at: datetime | None = None) -> R:
    """``row`` revoked at ``at`` (now by default); revoking it again keeps the first time."""
    if row.revoked_at is None:
        row.revoked_at = at or utcnow()
        await session.flush()
    return row
