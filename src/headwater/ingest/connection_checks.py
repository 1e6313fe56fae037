"""Test a source's connection without importing anything: connect, list, and say what a run would import now.

The check goes through the same connector as a run, so the private-host guard and the pinned SFTP host
key apply; it never pins a key and never changes one (a server presenting another key than the pinned
one is reported as ``HostKeyChanged``). Connecting is bounded by the connector's connect timeout and the
listing by ``connect_timeout`` seconds more. A failure is an answer (its code and a secret-free message),
not an error: only a source that cannot be tested at all (upload-only, invalid fields) raises.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import anyio

from headwater.clock import utcnow
from headwater.errors import ConnectionFailed, FieldProblem, RateLimited, SourceError, ValidationFailed
from headwater.ingest.connectors import connector_for
from headwater.ingest.connectors.base import ConnectionConfig, RemoteFile
from headwater.ingest.connectors.hosts import HostPolicy
from headwater.ingest.connectors.paths import is_selected
from headwater.ingest.host_keys import host_key_fingerprint
from headwater.ingest.imports import ConnectorFactory, Decision, connection_config, decide
from headwater.logging import get_logger
from headwater.runtime import Runtime
from headwater.sources import PullSourceSettings, validate_pull_source
from headwater.store import imports as ledger_store
from headwater.store import sources as source_store
from headwater.store.imports import LedgerEntry

log = get_logger(__name__)

# Files shown in the answer; the counts cover every listed file.
MAX_FILES_SHOWN = 20
# Tests under way at once in one process: each holds a worker thread for up to a few connect timeouts,
# and a caller testing in a loop must not take the threads every run and upload needs.
MAX_CONCURRENT_CHECKS = 8

_REASONS: dict[Decision, str] = {
    "new": "new",
    "changed": "changed",
    "retry": "retry",
    "reimport": "reimportRequested",
    "unchanged": "unchanged",
    "changed_outside_window": "changedOutsideWindow",
}


@dataclass(frozen=True)
class ListedFile:
    path: str
    name: str
    size: int
    modified: datetime | None
    import_now: bool
    # Why (not): new, changed, retry, reimportRequested, unchanged, changedOutsideWindow,
    # excludedByPattern or tooLarge.
    reason: str


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    code: str | None = None
    message: str | None = None
    # The pinned SFTP host key's fingerprint or, when none is pinned yet, that of the key the server presented.
    host_key_fingerprint: str | None = None
    host_key_pinned: bool = False
    files_seen: int = 0
    files_to_import: int = 0
    files: list[ListedFile] = field(default_factory=list)

    def shown(self, show_time: Callable[[datetime | None], Any]) -> dict[str, Any]:
        """The answer under the APIs' camelCase names, times written by ``show_time``."""
        return {
            "ok": self.ok,
            "code": self.code,
            "message": self.message,
            "hostKeyFingerprint": self.host_key_fingerprint,
            "hostKeyPinned": self.host_key_pinned,
            "filesSeen": self.files_seen,
            "filesToImport": self.files_to_import,
            "files": [
                {
                    "name": listed.name,
                    "path": listed.path,
                    "size": listed.size,
                    "modified": show_time(listed.modified),
                    "importNow": listed.import_now,
                    "reason": listed.reason,
                }
                for listed in self.files
            ],
        }


def _judge(
    remote: RemoteFile,
    config: ConnectionConfig,
    entry: LedgerEntry | None,
    reprocessing_days: int | None,
    max_file_size: int,
    now: datetime,
) -> ListedFile:
    if not is_selected(remote.path, config):
        reason = "excludedByPattern"
    elif remote.size > max_file_size:
        reason = "tooLarge"
    else:
        reason = _REASONS[decide(remote, entry, reprocessing_days, now)]
    return ListedFile(
        path=remote.path,
        name=remote.name,
        size=remote.size,
        modified=remote.mtime,
        import_now=reason in ("new", "changed", "retry", "reimportRequested"),
        reason=reason,
    )


@contextmanager
def _check_slot(runtime: Runtime) -> Iterator[None]:
    """One of the process's ``MAX_CONCURRENT_CHECKS`` places, or ``RateLimited`` when all are taken."""
    limiter = runtime.connection_checks
    if limiter is None:
        limiter = runtime.connection_checks = anyio.CapacityLimiter(MAX_CONCURRENT_CHECKS)
    try:
        limiter.acquire_nowait()
    except anyio.WouldBlock:
        raise RateLimited(max(1, math.ceil(runtime.settings.connect_timeout))) from None
    try:
        yield
    finally:
        limiter.release()


async def _check(
    runtime: Runtime,
    config: ConnectionConfig,
    ledger: Mapping[str, LedgerEntry],
    reprocessing_days: int | None,
    connect: ConnectorFactory,
) -> ConnectionCheck:
    with _check_slot(runtime):
        settings = runtime.settings
        pinned = host_key_fingerprint(config.pinned_host_key)
        # Listed without the source's patterns, so that the answer can say which files they leave out.
        listing_config = replace(config, file_pattern="*", exclude_pattern=None)
        seen_key: str | None = None
        try:
            async with connect(listing_config, settings) as connector:
                seen_key = connector.host_key
                try:
                    with anyio.fail_after(settings.connect_timeout):
                        listed = await connector.list_files()
                except TimeoutError as exc:
                    raise ConnectionFailed(
                        f"the server did not finish listing the working directory within "
                        f"{settings.connect_timeout:g} seconds"
                    ) from exc
        except SourceError as exc:
            log.info("connection test failed", host=config.host, code=exc.code, error=exc.message)
            return ConnectionCheck(
                ok=False,
                code=exc.code,
                message=exc.message,
                host_key_fingerprint=pinned,
                host_key_pinned=pinned is not None,
            )
        now = utcnow()
        judged = [
            _judge(remote, config, ledger.get(remote.path), reprocessing_days, settings.max_file_size, now)
            for remote in listed
        ]
        # What would be imported first, then the rest; by path within each.
        judged.sort(key=lambda listed_file: (not listed_file.import_now, listed_file.path))
        return ConnectionCheck(
            ok=True,
            host_key_fingerprint=pinned or host_key_fingerprint(seen_key),
            host_key_pinned=pinned is not None,
            files_seen=len(judged),
            files_to_import=sum(1 for listed_file in judged if listed_file.import_now),
            files=judged[:MAX_FILES_SHOWN],
        )


async def check_source(
    runtime: Runtime,
    tenant_id: int,
    source_id: int,
    *,
    owner_partner_id: int | None = None,
    connect: ConnectorFactory | None = None,
) -> ConnectionCheck:
    """Test a saved source: its server, and what its next run would import according to its ledger."""
    async with runtime.db.session() as session:
        source = await source_store.get(session, tenant_id, source_id, owner_partner_id=owner_partner_id)
        if source.data_source_type is None:
            raise ValidationFailed(
                [FieldProblem("dataSourceType", "NotAPullSource", "this source only takes uploads")]
            )
        config = connection_config(source, runtime.box)
        ledger = await ledger_store.ledger(session, tenant_id, source_id)
        reprocessing_days = source.reprocessing_days
    return await _check(runtime, config, ledger, reprocessing_days, connect or connector_for)


def _unsaved_config(fields: PullSourceSettings) -> ConnectionConfig:
    return ConnectionConfig(
        kind=fields.data_source_type,
        host=fields.host,
        working_directory=fields.working_directory or "/",
        port=fields.port,
        user=fields.user,
        password=fields.password,
        private_key=fields.private_key_file,
        passphrase=fields.passphrase,
        tls=fields.tls,
        region=fields.region,
        endpoint_url=fields.endpoint_url,
        file_pattern=fields.file_pattern or "*",
        exclude_pattern=fields.exclude_pattern,
        recursive=fields.recursive,
    )


async def check_unsaved(
    runtime: Runtime,
    tenant_id: int,
    payload: Mapping[str, Any],
    *,
    connect: ConnectorFactory | None = None,
) -> ConnectionCheck:
    """Test a source's fields before creating it: validated as a create body is, stored nowhere."""
    async with runtime.db.session() as session:
        fields = await validate_pull_source(
            session, tenant_id, payload, hosts=HostPolicy.from_settings(runtime.settings)
        )
    return await _check(
        runtime, _unsaved_config(fields), {}, fields.reprocessing_days, connect or connector_for
    )


__all__ = ["MAX_FILES_SHOWN", "ConnectionCheck", "ListedFile", "check_source", "check_unsaved"]
