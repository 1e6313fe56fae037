"""Data sources: the rules for creating, changing and showing them, shared by every dialect.

Pull-source fields arrive with the partner API's camelCase names (the integration API uses the same).
Validation collects every problem, in the order of the contract's field table, as ``FieldProblem``
codes such as ``HostRequired`` or ``InvalidProcessorType``; the dialects decide how to show them.
"""

from __future__ import annotations

import fnmatch
import re
import uuid as uuidlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import anyio
import asyncssh
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from headwater import schedules
from headwater.clock import utcnow
from headwater.connectors.hosts import HostPolicy
from headwater.crypto import SecretBox
from headwater.domain import (
    CUSTOM_SYSTEM,
    SECRET_MASK,
    AfterImport,
    AuthenticationType,
    DataSourceType,
    FileImportType,
    ProcessorType,
    SourceStatus,
)
from headwater.errors import Conflict, FieldProblem, ValidationFailed
from headwater.host_keys import host_key_fingerprint
from headwater.schedules import Schedule
from headwater.source_checks import archive_directory_problem, host_problem
from headwater.storable import storable
from headwater.store import sources as repo
from headwater.store.tables import DataSource, Touchpoint

SECRET_FIELDS = ("password", "privateKeyFile", "passphrase")
_HOST = re.compile(r"^[A-Za-z0-9_.\-:\[\]]{1,253}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-_]{1,61}[a-z0-9]$")


@dataclass
class PullSourceFields:
    """Validated pull-source settings, secrets still in clear text (never logged)."""

    host: str
    user: str | None
    password: str | None
    working_directory: str
    processor_type: int
    file_import_type: str
    authentication_type: str
    data_source_type: str
    touchpoint_code: str
    amount_calculated: bool
    port: int | None = None
    private_key: str | None = None
    passphrase: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    tls: bool = False
    reprocessing_days: int | None = None
    active: bool = True
    name: str | None = None
    file_pattern: str = "*"
    exclude_pattern: str | None = None
    after_import: str = AfterImport.KEEP.value
    archive_directory: str | None = None
    recursive: bool = False
    schedule: Schedule | None = None
    kept_secrets: set[str] = field(default_factory=set)

    def repr_safe(self) -> str:
        return f"<PullSourceFields {self.data_source_type} {self.host}{self.working_directory}>"

    __repr__ = repr_safe


def _present(payload: Mapping[str, Any], key: str) -> bool:
    value = payload.get(key)
    return value is not None and not (isinstance(value, str) and value.strip() == "")


def _capital(name: str) -> str:
    return name[0].upper() + name[1:]


class _Checker:
    def __init__(self, payload: Mapping[str, Any]) -> None:
        self.payload = payload
        self.problems: list[FieldProblem] = []

    def required(self, key: str) -> bool:
        if _present(self.payload, key):
            return True
        self.problems.append(FieldProblem(key, f"{_capital(key)}Required", f"{key} is required"))
        return False

    def invalid(self, key: str, why: str) -> None:
        self.problems.append(FieldProblem(key, f"Invalid{_capital(key)}", f"{key}: {why}"))

    def text(self, key: str, *, required: bool, max_length: int = 1000) -> str | None:
        if not _present(self.payload, key):
            if required:
                self.required(key)
            return None
        value = self.payload[key]
        if not isinstance(value, str) or len(value) > max_length or not storable(value):
            self.invalid(key, f"must be a text of at most {max_length} characters")
            return None
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.payload.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.invalid(key, "must be true or false")
            return default
        return value

    def integer(self, key: str, *, low: int, high: int) -> int | None:
        value = self.payload.get(key)
        if value is None:
            return None
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            try:
                value = int(value)
            except ValueError:  # digits int() refuses (superscripts) or too many of them
                pass
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.invalid(key, f"must be a whole number from {low} to {high}")
            return None
        return value

    def choice(self, key: str, allowed: Sequence[str], *, required: bool) -> str | None:
        if not _present(self.payload, key):
            if required:
                self.required(key)
            return None
        value = self.payload[key]
        if not isinstance(value, str) or value.upper() not in allowed:
            self.invalid(key, f"must be one of {', '.join(allowed)}")
            return None
        return value.upper()


def _valid_private_key(key: str, passphrase: str | None) -> str | None:
    """None when the key loads, else the code of what is wrong."""
    try:
        asyncssh.import_private_key(key, passphrase)
    except asyncssh.KeyEncryptionError:
        return "InvalidPassphrase"
    except (asyncssh.KeyImportError, ValueError, TypeError):
        return "InvalidPrivateKeyFile"
    return None


async def validate_pull_source(
    session: AsyncSession,
    tenant_id: int,
    payload: Mapping[str, Any],
    *,
    current: DataSource | None = None,
    box: SecretBox | None = None,
    hosts: HostPolicy,
) -> PullSourceFields:
    """Check every field; raise ``ValidationFailed`` with all problems in contract order.

    ``current`` is the stored source on an update: a secret sent back as ``********`` keeps its value.
    ``hosts`` decides which servers a source may point at; the name is looked up only once every
    other field is valid, so a request that is wrong anyway costs no DNS traffic.
    """
    payload = dict(payload)
    kept: set[str] = set()
    if current is not None and box is not None:
        stored = {
            "password": current.password_enc,
            "privateKeyFile": current.private_key_enc,
            "passphrase": current.passphrase_enc,
        }
        for key in SECRET_FIELDS:
            token = stored[key]
            if payload.get(key) == SECRET_MASK and token is not None:
                payload[key] = box.decrypt(token)
                kept.add(key)
    check = _Checker(payload)

    source_type = payload.get("dataSourceType")
    is_s3 = isinstance(source_type, str) and source_type.upper() == DataSourceType.S3.value
    auth_type = payload.get("authenticationType")
    by_key = isinstance(auth_type, str) and auth_type.upper() == AuthenticationType.CERTIFICATE.value

    host = check.text("host", required=True, max_length=253)
    if host is not None:
        host = host.strip()
        if is_s3 and not _BUCKET.match(host):
            check.invalid("host", "must be an S3 bucket name")
            host = None
        elif not is_s3 and not _HOST.match(host):
            check.invalid("host", "must be a host name or address, without scheme or path")
            host = None
    user = check.text("user", required=True, max_length=500)
    password = check.text("password", required=not by_key, max_length=1000)
    working_directory = payload.get("workingDirectory")
    if is_s3 and working_directory == "":
        working_directory = "/"
    else:
        working_directory = check.text("workingDirectory", required=True, max_length=1000)
    if isinstance(working_directory, str) and ".." in working_directory.replace("\\", "/").split("/"):
        check.invalid("workingDirectory", "must not contain '..'")
        working_directory = None

    processor_type: int | None = None
    raw_processor = payload.get("processorType")
    if raw_processor is None or raw_processor == "":
        check.required("processorType")
    else:
        try:
            if isinstance(raw_processor, bool):
                raise ValueError
            processor_type = ProcessorType(int(raw_processor)).value
        except (ValueError, TypeError, OverflowError):
            check.invalid("processorType", "must be 25000, 25004, 25006, 25011 or 25012")

    file_import_type = check.choice("fileImportType", [t.value for t in FileImportType], required=False)
    authentication_type = check.choice(
        "authenticationType", [t.value for t in AuthenticationType], required=True
    )
    data_source_type = check.choice("dataSourceType", [t.value for t in DataSourceType], required=True)
    if authentication_type == AuthenticationType.CERTIFICATE.value and data_source_type not in (
        None,
        DataSourceType.SFTP.value,
    ):
        check.invalid("authenticationType", "CERTIFICATE is only for SFTP sources")

    touchpoint_code = check.text("touchpointCode", required=True, max_length=100)
    if touchpoint_code is None:
        # The contract answers a missing code with both problems (its own example does).
        if not any(p.field == "touchpointCode" and p.code.startswith("Invalid") for p in check.problems):
            check.invalid("touchpointCode", "is not a touchpoint of this tenant")
    else:
        found = await session.scalar(
            select(Touchpoint.id).where(Touchpoint.tenant_id == tenant_id, Touchpoint.code == touchpoint_code)
        )
        if found is None:
            check.invalid("touchpointCode", "is not a touchpoint of this tenant")
            touchpoint_code = None

    amount_calculated = check.boolean("amountCalculated", False)
    port = check.integer("port", low=1, high=65535)

    private_key = passphrase = None
    if authentication_type == AuthenticationType.CERTIFICATE.value:
        private_key = check.text("privateKeyFile", required=True, max_length=20000)
        passphrase = check.text("passphrase", required=False, max_length=1000)
        if private_key is not None:
            # Opening an encrypted key runs its KDF for up to a second: not on the event loop.
            problem = await anyio.to_thread.run_sync(_valid_private_key, private_key, passphrase)
            if problem == "InvalidPassphrase":
                check.invalid("passphrase", "does not open the private key")
            elif problem:
                check.invalid("privateKeyFile", "must be a private key in PEM or OpenSSH format")

    region = check.text("region", required=is_s3, max_length=100)
    endpoint_url = check.text("endpointUrl", required=False, max_length=1000)
    if endpoint_url is not None:
        try:
            parsed = urlparse(endpoint_url)
            usable = parsed.scheme in ("http", "https") and bool(parsed.hostname)
        except ValueError:  # e.g. an unclosed IPv6 bracket
            usable = False
        if not usable:
            check.invalid("endpointUrl", "must be an http or https URL")
            endpoint_url = None
    tls = check.boolean("tls", False)
    if tls and data_source_type not in (None, DataSourceType.FTP.value):
        check.invalid("tls", "is an option of FTP sources (FTPS)")
    reprocessing_days = check.integer("reprocessingDays", low=-1, high=36500)
    active = check.boolean("active", True)
    name = check.text("name", required=False, max_length=500)
    file_pattern = check.text("filePattern", required=False, max_length=500) or "*"
    exclude_pattern = check.text("excludePattern", required=False, max_length=500)
    after_import = (
        check.choice("afterImport", [a.value for a in AfterImport], required=False) or AfterImport.KEEP.value
    )
    archive_directory = check.text(
        "archiveDirectory", required=after_import == AfterImport.MOVE.value, max_length=1000
    )
    if archive_directory is not None and working_directory is not None:
        why = archive_directory_problem(archive_directory, working_directory, is_s3=is_s3)
        if why is not None:
            check.invalid("archiveDirectory", why)
            archive_directory = None
    recursive = check.boolean("recursive", False)
    for pattern_key, pattern in (("filePattern", file_pattern), ("excludePattern", exclude_pattern)):
        if pattern is not None:
            try:
                re.compile(fnmatch.translate(pattern))
            except re.error:
                check.invalid(pattern_key, "must be a glob pattern")

    schedule: Schedule | None = None
    try:
        schedule = schedules.parse(payload.get("schedule"), now=utcnow())
    except schedules.InvalidSchedule as exc:
        check.invalid("schedule", str(exc))

    if check.problems:
        raise ValidationFailed(check.problems)
    assert host is not None and working_directory is not None and processor_type is not None
    assert authentication_type is not None and data_source_type is not None and touchpoint_code is not None
    refused = await host_problem(hosts, data_source_type, host, port, endpoint_url)
    if refused is not None:
        raise ValidationFailed([refused])
    return PullSourceFields(
        host=host,
        user=user,
        password=password,
        working_directory=working_directory,
        processor_type=processor_type,
        file_import_type=file_import_type or FileImportType.PARTY.value,
        authentication_type=authentication_type,
        data_source_type=data_source_type,
        touchpoint_code=touchpoint_code,
        amount_calculated=amount_calculated,
        port=port,
        private_key=private_key,
        passphrase=passphrase,
        region=region,
        endpoint_url=endpoint_url,
        tls=tls,
        reprocessing_days=reprocessing_days,
        active=active,
        name=name,
        file_pattern=file_pattern,
        exclude_pattern=exclude_pattern,
        after_import=after_import,
        archive_directory=archive_directory,
        recursive=recursive,
        schedule=schedule,
        kept_secrets=kept,
    )


def _columns(fields: PullSourceFields, box: SecretBox) -> dict[str, Any]:
    return {
        "system": fields.data_source_type,
        "data_source_type": fields.data_source_type,
        "host": fields.host,
        "port": fields.port,
        "user": fields.user,
        "password_enc": box.encrypt_optional(fields.password),
        "authentication_type": fields.authentication_type,
        "private_key_enc": box.encrypt_optional(fields.private_key),
        "passphrase_enc": box.encrypt_optional(fields.passphrase),
        "region": fields.region,
        "endpoint_url": fields.endpoint_url,
        "tls": fields.tls,
        "working_directory": fields.working_directory,
        "processor_type": fields.processor_type,
        "file_import_type": fields.file_import_type,
        "touchpoint_code": fields.touchpoint_code,
        "amount_calculated": fields.amount_calculated,
        "reprocessing_days": fields.reprocessing_days,
        "active": fields.active,
        "file_pattern": fields.file_pattern,
        "exclude_pattern": fields.exclude_pattern,
        "after_import": fields.after_import,
        "archive_directory": fields.archive_directory,
        "recursive": fields.recursive,
        "schedule": None if fields.schedule is None else fields.schedule.stored,
    }


async def _free_name(session: AsyncSession, tenant_id: int, wanted: str, except_id: int | None = None) -> str:
    name, n = wanted, 1
    while await repo.name_taken(session, tenant_id, name, except_id=except_id):
        n += 1
        name = f"{wanted} ({n})"
    return name


def _default_name(fields: PullSourceFields) -> str:
    directory = (
        fields.working_directory
        if fields.working_directory.startswith("/")
        else "/" + fields.working_directory
    )
    return f"{fields.data_source_type.lower()}://{fields.host}{directory}"[:480]


async def create_pull_source(
    session: AsyncSession,
    tenant_id: int,
    payload: Mapping[str, Any],
    box: SecretBox,
    *,
    owner_partner_id: int | None = None,
    hosts: HostPolicy,
) -> DataSource:
    fields = await validate_pull_source(session, tenant_id, payload, hosts=hosts)
    if fields.name is not None and await repo.name_taken(session, tenant_id, fields.name):
        raise Conflict("name", "Has already been taken.")
    name = fields.name or await _free_name(session, tenant_id, _default_name(fields))
    return await repo.add(
        session,
        tenant_id,
        uuid=new_source_uuid(),
        owner_partner_id=owner_partner_id,
        name=name,
        status=SourceStatus.IDLE,
        next_run_at=schedules.first_run(fields.schedule, now=utcnow()),
        **_columns(fields, box),
    )


async def update_pull_source(
    session: AsyncSession,
    tenant_id: int,
    source: DataSource,
    payload: Mapping[str, Any],
    box: SecretBox,
    *,
    partial: bool = False,
    hosts: HostPolicy,
) -> DataSource:
    """Replace a source's settings (PUT), or change only the fields given (``partial``, PATCH)."""
    if partial:
        merged = {k: v for k, v in describe(source).items() if v is not None}
        merged.update(payload)
        payload = merged
    fields = await validate_pull_source(session, tenant_id, payload, current=source, box=box, hosts=hosts)
    if fields.name is not None and fields.name != source.name:
        if await repo.name_taken(session, tenant_id, fields.name, except_id=source.id):
            raise Conflict("name", "Has already been taken.")
        source.name = fields.name
    columns = _columns(fields, box)
    # A re-pointed server gets a fresh host-key pin; the same server keeps its pin.
    if (columns["host"], columns["port"]) != (source.host, source.port):
        source.host_key = None
    if columns["schedule"] != source.schedule:
        source.next_run_at = schedules.rescheduled(
            fields.schedule, now=utcnow(), last_run=source.last_running_time, current=source.next_run_at
        )
    for key, value in columns.items():
        setattr(source, key, value)
    await session.flush()
    return source


def new_source_uuid() -> str:
    return f"ds_{uuidlib.uuid4()}"


async def create_custom_source(session: AsyncSession, tenant_id: int, name: str) -> DataSource:
    """An upload-only source (ChartMogul's ``Custom``); the name is unique within the tenant."""
    if await repo.name_taken(session, tenant_id, name):
        raise Conflict("name", "Has already been taken.")
    return await repo.add(
        session,
        tenant_id,
        uuid=new_source_uuid(),
        name=name,
        system=CUSTOM_SYSTEM,
        status=SourceStatus.IDLE,
        active=True,
    )


def describe(source: DataSource) -> dict[str, Any]:
    """A source's fields under the partner API's names, secrets masked, times as ``datetime``."""
    return {
        "id": source.id,
        "uuid": source.uuid,
        "name": source.name,
        "system": source.system,
        "host": source.host,
        "port": source.port,
        "user": source.user,
        "password": SECRET_MASK if source.password_enc else None,
        "workingDirectory": source.working_directory,
        "processorType": source.processor_type,
        "fileImportType": source.file_import_type,
        "dataSourceType": source.data_source_type,
        "touchpointCode": source.touchpoint_code,
        "authenticationType": source.authentication_type,
        "active": source.active,
        "privateKeyFile": SECRET_MASK if source.private_key_enc else None,
        "passphrase": SECRET_MASK if source.passphrase_enc else None,
        "region": source.region,
        "endpointUrl": source.endpoint_url,
        "tls": source.tls,
        "reprocessingDays": source.reprocessing_days,
        "lastRunningTime": source.last_running_time,
        "amountCalculated": source.amount_calculated,
        "status": source.status,
        "filePattern": source.file_pattern,
        "excludePattern": source.exclude_pattern,
        "afterImport": source.after_import,
        "archiveDirectory": source.archive_directory,
        "recursive": source.recursive,
        "hostKeyFingerprint": host_key_fingerprint(source.host_key),
        "schedule": schedules.shown(source.schedule),
        "lastRunStatus": source.last_run_status,
        "lastError": last_error(source),
        "nextRunTime": next_run_time(source),
        "createdAt": source.created_at,
    }


def last_error(source: DataSource) -> dict[str, Any] | None:
    """Why the latest finished run failed (``at``: when it ended), or None when it ended well."""
    if source.last_error_code is None:
        return None
    return {"code": source.last_error_code, "message": source.last_error_message, "at": source.last_error_at}


def next_run_time(source: DataSource) -> datetime | None:
    """When the source is polled next (a time past: at the next look for due sources); None if never."""
    if not source.active or source.data_source_type is None:
        return None
    return source.next_run_at or source.created_at


__all__ = [
    "PullSourceFields",
    "create_custom_source",
    "create_pull_source",
    "describe",
    "last_error",
    "next_run_time",
    "update_pull_source",
    "validate_pull_source",
]
