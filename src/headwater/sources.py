"""Data sources: the rules for creating, changing and showing them, shared by every dialect.

Pull-source fields arrive with the partner API's camelCase names (the integration API uses the same).
Validation collects every problem, in the order of the contract's field table, as ``FieldProblem``
codes such as ``HostRequired`` or ``InvalidProcessorType``; the dialects decide how to show them.
"""

from __future__ import annotations

import fnmatch
import re
import uuid as uuidlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import anyio
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from headwater import source_fields
from headwater.access.crypto import SecretBox
from headwater.clock import utcnow
from headwater.domain import (
    CUSTOM_SYSTEM,
    SECRET_MASK,
    AfterImport,
    AuthenticationType,
    DataSourceType,
    FileImportType,
    SourceStatus,
)
from headwater.errors import FieldProblem, ValidationFailed
from headwater.ingest import schedules
from headwater.ingest.connectors.hosts import HostPolicy
from headwater.ingest.host_keys import host_key_fingerprint
from headwater.ingest.schedules import Schedule
from headwater.ingest.source_checks import archive_directory_problem, host_problem
from headwater.source_fields import FieldType, SourceField
from headwater.storable import storable
from headwater.store import sources as repo
from headwater.store.tables import DataSource, Touchpoint

SECRET_FIELDS = tuple(f.name for f in source_fields.SECRETS)
_HOST = re.compile(r"^[A-Za-z0-9_.\-:\[\]]{1,253}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-_]{1,61}[a-z0-9]$")
_CERTIFICATE_ONLY = ("privateKeyFile", "passphrase")


@dataclass
class PullSourceSettings:
    """A pull source's settings once valid, one attribute per writable field of the table (its name in
    snake case); secrets still in clear text, never logged."""

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
    private_key_file: str | None = None
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
        return f"<PullSourceSettings {self.data_source_type} {self.host}{self.working_directory}>"

    __repr__ = repr_safe


def attribute(source_field: SourceField) -> str:
    """The ``PullSourceSettings`` attribute of a writable field."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", source_field.name).lower()


def _present(payload: Mapping[str, Any], key: str) -> bool:
    value = payload.get(key)
    return value is not None and not (isinstance(value, str) and value.strip() == "")


def _capital(name: str) -> str:
    return name[0].upper() + name[1:]


class _Checker:
    """The problems found so far; ``problems_in_order`` gives them in the table's order."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        self.payload = payload
        self.problems: list[FieldProblem] = []

    def required(self, key: str) -> None:
        self.problems.append(FieldProblem(key, f"{_capital(key)}Required", f"{key} is required"))

    def invalid(self, key: str, why: str) -> None:
        self.problems.append(FieldProblem(key, f"Invalid{_capital(key)}", f"{key}: {why}"))

    def has_problem(self, key: str) -> bool:
        return any(p.field == key for p in self.problems)

    def problems_in_order(self) -> list[FieldProblem]:
        # A stable sort: the problems of one field keep the order they were found in.
        return sorted(
            self.problems, key=lambda p: source_fields.POSITION.get(p.field, len(source_fields.FIELDS))
        )

    def text(self, key: str, *, max_length: int) -> str | None:
        value = self.payload[key]
        if not isinstance(value, str) or len(value) > max_length or not storable(value):
            self.invalid(key, f"must be a text of at most {max_length} characters")
            return None
        return value

    def boolean(self, key: str) -> bool | None:
        value = self.payload[key]
        if not isinstance(value, bool):
            self.invalid(key, "must be true or false")
            return None
        return value

    def integer(self, key: str, *, low: int, high: int) -> int | None:
        value = self.payload[key]
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            try:
                value = int(value)
            except ValueError:  # digits int() refuses (superscripts) or too many of them
                pass
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.invalid(key, f"must be a whole number from {low} to {high}")
            return None
        return value

    def choice(self, key: str, allowed: Sequence[str]) -> str | None:
        value = self.payload[key]
        if not isinstance(value, str) or value.upper() not in allowed:
            self.invalid(key, f"must be one of {', '.join(allowed)}")
            return None
        return value.upper()

    def code(self, key: str, allowed: Sequence[int]) -> int | None:
        value = self.payload[key]
        try:
            if isinstance(value, bool):
                raise ValueError
            number = int(value)
        except (ValueError, TypeError, OverflowError):
            number = None
        if number not in allowed:
            self.invalid(key, "must be " + ", ".join(str(a) for a in allowed[:-1]) + f" or {allowed[-1]}")
            return None
        return number


# --- field rules: each field on its own, as the table describes it ------------------------------


def _no_parent(value: str) -> str | None:
    return "must not contain '..'" if ".." in value.replace("\\", "/").split("/") else None


def _http_url(value: str) -> str | None:
    try:
        parsed = urlparse(value)
        usable = parsed.scheme in ("http", "https") and bool(parsed.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        usable = False
    return None if usable else "must be an http or https URL"


def _glob(value: str) -> str | None:
    try:
        re.compile(fnmatch.translate(value))
    except re.error:
        return "must be a glob pattern"
    return None


# What a field's text must be beyond its length (whatever the other fields say).
_TEXT_RULES: Mapping[str, Callable[[str], str | None]] = {
    "workingDirectory": _no_parent,
    "endpointUrl": _http_url,
    "filePattern": _glob,
    "excludePattern": _glob,
}


def _field_value(check: _Checker, spec: SourceField) -> Any:
    """One field checked against the table: present when required, of its type, within its bounds."""
    key = spec.name
    if spec.type is FieldType.SCHEDULE:
        try:
            return schedules.parse(check.payload.get(key), now=utcnow())
        except schedules.InvalidSchedule as exc:
            check.invalid(key, str(exc))
            return None
    if spec.type in (FieldType.BOOLEAN, FieldType.INTEGER):
        if check.payload.get(key) is None:
            return spec.default
        if spec.type is FieldType.BOOLEAN:
            value = check.boolean(key)
            return spec.default if value is None else value
        assert spec.low is not None and spec.high is not None
        return check.integer(key, low=spec.low, high=spec.high)
    if spec.type is FieldType.CODE and check.payload.get(key) not in (None, ""):
        return check.code(key, [int(c) for c in spec.choices])
    if not _present(check.payload, key):
        if spec.required:
            check.required(key)
        return None
    if spec.type is FieldType.CHOICE:
        return check.choice(key, [str(c) for c in spec.choices])
    assert spec.max_length is not None
    text = check.text(key, max_length=spec.max_length)
    rule = _TEXT_RULES.get(key)
    if text is not None and rule is not None and (why := rule(text)) is not None:
        check.invalid(key, why)
        return None
    return text


def _field_rules(check: _Checker, ignored: Collection[str]) -> dict[str, Any]:
    return {f.name: _field_value(check, f) for f in source_fields.WRITABLE if f.name not in ignored}


# --- cross-field rules: what one field asks of another ------------------------------------------


def _cross_field_rules(payload: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Before the field rules: the payload as they should read it, and the fields they leave alone.

    On S3 an empty ``workingDirectory`` is the whole bucket; the private key and its passphrase are
    read only for CERTIFICATE authentication.
    """
    adjusted = dict(payload)
    source_type, auth_type = payload.get("dataSourceType"), payload.get("authenticationType")
    if isinstance(source_type, str) and source_type.upper() == DataSourceType.S3.value:
        if adjusted.get("workingDirectory") == "":
            adjusted["workingDirectory"] = "/"
    by_key = isinstance(auth_type, str) and auth_type.upper() == AuthenticationType.CERTIFICATE.value
    return adjusted, set() if by_key else set(_CERTIFICATE_ONLY)


async def _between_fields(check: _Checker, values: dict[str, Any]) -> None:
    """After the field rules: requirements and formats that depend on other fields' values."""
    source_type, auth_type = values["dataSourceType"], values["authenticationType"]
    is_s3 = source_type == DataSourceType.S3.value
    by_key = auth_type == AuthenticationType.CERTIFICATE.value

    def required_when(key: str, condition: bool) -> None:
        if condition and values.get(key) is None and not check.has_problem(key):
            check.required(key)

    host = values["host"]
    if host is not None:
        values["host"] = host = host.strip()
        if is_s3 and not _BUCKET.match(host):
            check.invalid("host", "must be an S3 bucket name")
            values["host"] = None
        elif not is_s3 and not _HOST.match(host):
            check.invalid("host", "must be a host name or address, without scheme or path")
            values["host"] = None
    required_when("password", not by_key)
    if by_key and source_type not in (None, DataSourceType.SFTP.value):
        check.invalid("authenticationType", "CERTIFICATE is only for SFTP sources")
    required_when("privateKeyFile", by_key)
    if by_key and values["privateKeyFile"] is not None:
        # Opening an encrypted key runs its KDF for up to a second: not on the event loop.
        problem = await anyio.to_thread.run_sync(
            _valid_private_key, values["privateKeyFile"], values["passphrase"]
        )
        if problem == "InvalidPassphrase":
            check.invalid("passphrase", "does not open the private key")
        elif problem:
            check.invalid("privateKeyFile", "must be a private key in PEM or OpenSSH format")
    required_when("region", is_s3)
    if values["tls"] and source_type not in (None, DataSourceType.FTP.value):
        check.invalid("tls", "is an option of FTP sources (FTPS)")
    values["filePattern"] = values["filePattern"] or "*"
    values["afterImport"] = values["afterImport"] or AfterImport.KEEP.value
    required_when("archiveDirectory", values["afterImport"] == AfterImport.MOVE.value)
    archive, working = values["archiveDirectory"], values["workingDirectory"]
    if archive is not None and working is not None:
        why = archive_directory_problem(archive, working, is_s3=is_s3)
        if why is not None:
            check.invalid("archiveDirectory", why)
            values["archiveDirectory"] = None


# --- the database check -------------------------------------------------------------------------


# Asked at every create and update: built once (building it costs about as much as running it).
_TOUCHPOINT_OF_TENANT = select(Touchpoint.id).where(
    Touchpoint.tenant_id == bindparam("tenant_id"), Touchpoint.code == bindparam("code")
)


async def _database_check(
    session: AsyncSession, tenant_id: int, check: _Checker, values: dict[str, Any]
) -> None:
    """The touchpoint code must name one of the tenant's touchpoints."""
    code = values["touchpointCode"]
    if code is None:
        # The contract answers a missing code with both problems (its own example does).
        if not any(p.field == "touchpointCode" and p.code.startswith("Invalid") for p in check.problems):
            check.invalid("touchpointCode", "is not a touchpoint of this tenant")
        return
    connection = await session.connection()  # a plain value: the ORM's execute would cost as much again
    found = await connection.scalar(_TOUCHPOINT_OF_TENANT, {"tenant_id": tenant_id, "code": code})
    if found is None:
        check.invalid("touchpointCode", "is not a touchpoint of this tenant")
        values["touchpointCode"] = None


def _valid_private_key(key: str, passphrase: str | None) -> str | None:
    """None when the key loads, else the code of what is wrong."""
    import asyncssh  # loaded only where a private key is given (see ``connectors.failures``)

    try:
        asyncssh.import_private_key(key, passphrase)
    except asyncssh.KeyEncryptionError:
        return "InvalidPassphrase"
    except (asyncssh.KeyImportError, ValueError, TypeError):
        return "InvalidPrivateKeyFile"
    return None


def _with_kept_secrets(
    payload: Mapping[str, Any], current: DataSource | None, box: SecretBox | None
) -> tuple[dict[str, Any], set[str]]:
    """A secret sent back as ``********`` on an update stands for the stored one."""
    opened, kept = dict(payload), set()
    if current is not None and box is not None:
        for secret in source_fields.SECRETS:
            token = getattr(current, secret.column)
            if opened.get(secret.name) == SECRET_MASK and token is not None:
                opened[secret.name] = box.decrypt(token)
                kept.add(secret.name)
    return opened, kept


async def validate_pull_source(
    session: AsyncSession,
    tenant_id: int,
    payload: Mapping[str, Any],
    *,
    current: DataSource | None = None,
    box: SecretBox | None = None,
    hosts: HostPolicy,
) -> PullSourceSettings:
    """Check every field; raise ``ValidationFailed`` with all problems in the contract's order.

    Field rules check each field as the table describes it, cross-field rules what fields ask of each
    other, the database check the touchpoint code. ``current`` is the stored source on an update: a
    secret sent back as ``********`` keeps its value. ``hosts`` decides which servers a source may
    point at; the name is looked up only once every other field is valid, so a request that is
    wrong anyway costs no DNS traffic.
    """
    opened, kept = _with_kept_secrets(payload, current, box)
    adjusted, ignored = _cross_field_rules(opened)
    check = _Checker(adjusted)
    values = _field_rules(check, ignored)
    values.update(dict.fromkeys(ignored))
    await _between_fields(check, values)
    await _database_check(session, tenant_id, check, values)
    if check.problems:
        raise ValidationFailed(check.problems_in_order())
    refused = await host_problem(
        hosts, values["dataSourceType"], values["host"], values["port"], values["endpointUrl"]
    )
    if refused is not None:
        raise ValidationFailed([refused])
    values["fileImportType"] = values["fileImportType"] or FileImportType.PARTY.value
    settings = {attribute(f): values[f.name] for f in source_fields.WRITABLE}
    return PullSourceSettings(**settings, kept_secrets=kept)


def _columns(settings: PullSourceSettings, box: SecretBox) -> dict[str, Any]:
    columns: dict[str, Any] = {"system": settings.data_source_type}
    for spec in source_fields.WRITABLE:
        if spec.name == "name":
            continue  # set apart: a name must be free within the tenant, or one is made
        value = getattr(settings, attribute(spec))
        if spec.masked:
            value = box.encrypt_optional(value)
        elif spec.type is FieldType.SCHEDULE:
            value = None if value is None else value.stored
        columns[spec.column] = value
    return columns


async def _free_name(session: AsyncSession, tenant_id: int, wanted: str, except_id: int | None = None) -> str:
    name, n = wanted, 1
    while await repo.name_taken(session, tenant_id, name, except_id=except_id):
        n += 1
        name = f"{wanted} ({n})"
    return name


def _default_name(fields: PullSourceSettings) -> str:
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
    # A name already taken is refused by the table's unique constraint, as ``repo.add`` answers it: one
    # statement fewer than asking first.
    return await _add_source(
        session,
        tenant_id,
        fields.name or await _free_name(session, tenant_id, _default_name(fields)),
        owner_partner_id=owner_partner_id,
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
        await repo.refuse_taken_name(session, tenant_id, fields.name, except_id=source.id)
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


async def _add_source(session: AsyncSession, tenant_id: int, name: str, **columns: Any) -> DataSource:
    """A new source under a fresh uuid, idle until its first run."""
    return await repo.add(
        session, tenant_id, uuid=new_source_uuid(), name=name, status=SourceStatus.IDLE, **columns
    )


async def create_custom_source(session: AsyncSession, tenant_id: int, name: str) -> DataSource:
    """An upload-only source (ChartMogul's ``Custom``); the name is unique within the tenant."""
    await repo.refuse_taken_name(session, tenant_id, name)
    return await _add_source(session, tenant_id, name, system=CUSTOM_SYSTEM, active=True)


def describe(source: DataSource) -> dict[str, Any]:
    """A source's fields under the table's names and in its order, secrets masked, times as ``datetime``."""
    return {name: shown(source) for name, shown in _SHOWN}


def _masked(column: str) -> Callable[[DataSource], str | None]:
    return lambda source: SECRET_MASK if getattr(source, column) else None


def _column(column: str) -> Callable[[DataSource], Any]:
    return lambda source: getattr(source, column)


# How each derived field of the table is made from the stored source.
_DERIVED: Mapping[str, Callable[[DataSource], Any]] = {
    "hostKeyFingerprint": lambda source: host_key_fingerprint(source.host_key),
    "schedule": lambda source: schedules.shown(source.schedule),
    "lastError": lambda source: last_error(source),
    "nextRunTime": lambda source: next_run_time(source),
}
if set(_DERIVED) != {f.name for f in source_fields.FIELDS if f.derived}:
    raise RuntimeError("every derived field of the table needs a rule in sources._DERIVED, and only they")
_SHOWN: tuple[tuple[str, Callable[[DataSource], Any]], ...] = tuple(
    (
        f.name,
        _DERIVED[f.name] if f.derived else _masked(f.column) if f.masked else _column(f.column),
    )
    for f in source_fields.FIELDS
)


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
    "PullSourceSettings",
    "create_custom_source",
    "create_pull_source",
    "describe",
    "last_error",
    "next_run_time",
    "update_pull_source",
    "validate_pull_source",
]
