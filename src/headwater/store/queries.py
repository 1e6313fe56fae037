"""The two answers every repository gives the same way: "no such row" and "that name is taken".

The queries themselves stay with their repositories, so each one still shows which tenant it is
scoped by; these helpers only turn an empty or a non-empty result into the matching headwater error.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.errors import Conflict, NotFound

T = TypeVar("T")


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
