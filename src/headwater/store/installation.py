"""The ``installation`` row: the fingerprint of the secret key the store was created with.

Not scoped by tenant: it describes the whole store. This module stores and finds; ``installation.py``
decides what a fingerprint means.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.clock import utcnow
from headwater.store.tables import Installation

_ROW = 1


async def key_fingerprint(session: AsyncSession) -> str | None:
    found: str | None = await session.scalar(
        select(Installation.key_fingerprint).where(Installation.id == _ROW)
    )
    return found


async def record_key_fingerprint(session: AsyncSession, fingerprint: str) -> None:
    """Record ``fingerprint``; a concurrent first recording makes the flush raise ``IntegrityError``."""
    row = await session.get(Installation, _ROW)
    if row is None:
        session.add(Installation(id=_ROW, key_fingerprint=fingerprint, recorded_at=utcnow()))
    else:
        row.key_fingerprint = fingerprint
        row.recorded_at = utcnow()
    await session.flush()
