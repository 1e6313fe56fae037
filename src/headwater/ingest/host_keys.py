"""SFTP host keys: shown as OpenSSH shows them, reset when an operator or the partner says the change is expected.

A source pins its server's host key on first use, and a run refuses a server presenting another key
(``HostKeyChanged``). Resetting forgets the pin; the next run pins whatever key the server presents and
says so in its message ("pinned new host key SHA256:...").
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from headwater.clock import utcnow
from headwater.logging import get_logger
from headwater.store import sources as source_store
from headwater.store.tables import DataSource

log = get_logger(__name__)


def host_key_fingerprint(public_key: str | None) -> str | None:
    """``SHA256:...`` as ``ssh-keygen -lf`` prints it; None when nothing is pinned.

    A stored key that no longer parses is shown as such rather than failing every view of the source:
    the run reports it as ``HostKeyChanged`` and a reset repairs it.
    """
    if not public_key:
        return None
    import asyncssh  # loaded only where a key is pinned (see ``connectors.failures``)

    try:
        return str(asyncssh.import_public_key(public_key.strip()).get_fingerprint("sha256"))
    except (asyncssh.KeyImportError, ValueError):
        return "unreadable"


async def reset_host_key(
    session: AsyncSession, tenant_id: int, source_id: int, *, owner_partner_id: int | None = None
) -> tuple[DataSource, str | None]:
    """Forget the source's pinned host key; answers the source and the fingerprint that was pinned."""
    source = await source_store.get(session, tenant_id, source_id, owner_partner_id=owner_partner_id)
    forgotten = host_key_fingerprint(source.host_key)
    source.host_key = None
    source.updated_at = utcnow()
    await session.flush()
    log.info("host key pin reset", tenant_id=tenant_id, source_id=source_id, forgotten=forgotten)
    return source, forgotten


__all__ = ["host_key_fingerprint", "reset_host_key"]
