"""The one table of a data source's fields: what each is called, where it is stored, what it holds.

Everything about a field that is not a rule between fields lives here, once: its name (the partner
and integration dialects share the camelCase names; ChartMogul shows a few under its own), its column,
its type and bounds, whether it is a secret shown masked, and which dialect shows it. Validation
(``sources``), every dialect's answer and every OpenAPI document are built from this table.

The table is in the contract's order (seed 000's request table, then headwater's options): problems
are reported in this order, and a request body is described in it. Read-only fields sit where the
partner answer has shown them after the contract's fields; the contract's own answer example orders
its fields differently, which ``CONTRACT_ANSWER_ORDER`` keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from headwater.domain import (
    AfterImport,
    AuthenticationType,
    DataSourceType,
    FileImportType,
    ProcessorType,
    RunOutcome,
    SourceStatus,
)


class FieldType(StrEnum):
    TEXT = "text"  # free text of at most ``max_length`` characters
    CHOICE = "choice"  # one text of ``choices``, any case, kept upper case
    CODE = "code"  # one whole number of ``choices`` (a processor type)
    INTEGER = "integer"  # a whole number from ``low`` to ``high``
    BOOLEAN = "boolean"
    TIME = "time"  # a moment: epoch ms in the partner dialect, ISO 8601 elsewhere
    SCHEDULE = "schedule"  # seconds between polls, or a cron expression
    OBJECT = "object"  # a small structure (the last run's error)


@dataclass(frozen=True)
class SourceField:
    name: str
    # The ``data_sources`` column the value is stored in (or, for a derived field, read from).
    column: str
    type: FieldType
    description: str = ""
    # Taken in a request body; read-only fields are only shown.
    writable: bool = False
    # Required whatever the other fields say (conditional requirements are rules between fields).
    required: bool = False
    max_length: int | None = None
    low: int | None = None
    high: int | None = None
    choices: tuple[str | int, ...] = ()
    # What a missing boolean means.
    default: bool | None = None
    # A secret: shown as ``********`` when set, never in clear.
    masked: bool = False
    # Made from the stored source by a rule of its own, not copied from its column.
    derived: bool = False
    # In seed 000's request or answer.
    seed: bool = False
    # Shown by the partner dialect (the integration dialect shows every field).
    partner: bool = True
    # Its name in the ChartMogul dialect, which shows only these.
    chartmogul: str | None = None
    examples: tuple[Any, ...] = ()


def _text(name: str, max_length: int, description: str = "", **more: Any) -> SourceField:
    column = more.pop("column", None) or _snake(name)
    return SourceField(
        name, column, FieldType.TEXT, description, writable=True, max_length=max_length, **more
    )


def _choice(name: str, choices: tuple[str, ...], description: str = "", **more: Any) -> SourceField:
    return SourceField(
        name, _snake(name), FieldType.CHOICE, description, writable=True, choices=choices, **more
    )


def _boolean(name: str, default: bool, description: str = "", **more: Any) -> SourceField:
    return SourceField(
        name, _snake(name), FieldType.BOOLEAN, description, writable=True, default=default, **more
    )


def _shown(name: str, kind: FieldType, description: str = "", **more: Any) -> SourceField:
    column = more.pop("column", None) or _snake(name)
    return SourceField(name, column, kind, description, **more)


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def _values(enum: Any) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


FIELDS: tuple[SourceField, ...] = (
    _shown("id", FieldType.INTEGER, "The data source's id.", seed=True),
    # --- seed 000's request table ---
    _text(
        "host",
        253,
        "Server name or address; the bucket name for S3.",
        required=True,
        seed=True,
        examples=("test.myftp.net",),
    ),
    _text("user", 500, "User name; the access key id for S3.", required=True, seed=True),
    _text(
        "password",
        1000,
        'Password; the secret access key for S3. "********" keeps the stored one.',
        column="password_enc",
        masked=True,
        seed=True,
    ),
    _text(
        "workingDirectory",
        1000,
        "Remote folder; the key prefix for S3.",
        required=True,
        seed=True,
        examples=("/stock",),
    ),
    SourceField(
        "processorType",
        "processor_type",
        FieldType.CODE,
        "How files are read: 25000 persons, 25004 companies, 25006 physical locations, 25011 partner "
        "sales, 25012 partner stock.",
        writable=True,
        required=True,
        choices=tuple(t.value for t in ProcessorType),
        seed=True,
    ),
    _choice("fileImportType", _values(FileImportType), "How parties are keyed (default PARTY).", seed=True),
    _choice("authenticationType", _values(AuthenticationType), required=True, seed=True),
    _choice("dataSourceType", _values(DataSourceType), "FTPS is FTP with tls.", required=True, seed=True),
    _text("touchpointCode", 100, "A touchpoint code of the tenant.", required=True, seed=True),
    _boolean(
        "amountCalculated",
        False,
        "true: the amount is the line total; false: amount times quantity.",
        seed=True,
    ),
    # --- headwater's options, and the contract's answer-only fields among them ---
    SourceField("port", "port", FieldType.INTEGER, writable=True, low=1, high=65535),
    _text(
        "privateKeyFile",
        20000,
        "PEM or OpenSSH private key text (CERTIFICATE).",
        column="private_key_enc",
        masked=True,
        seed=True,
    ),
    _text("passphrase", 1000, "Opens the private key.", column="passphrase_enc", masked=True, seed=True),
    _text("region", 100, "Required for S3.", seed=True),
    _text("endpointUrl", 1000, "S3-compatible endpoint (MinIO, Ceph)."),
    _boolean("tls", False, "FTPS: FTP over TLS."),
    SourceField(
        "reprocessingDays",
        "reprocessing_days",
        FieldType.INTEGER,
        "A changed file is imported again when changed within this many days; null or -1: never.",
        writable=True,
        low=-1,
        high=36500,
        seed=True,
    ),
    _shown(
        "lastRunningTime", FieldType.TIME, "When the last run ended.", column="last_running_time", seed=True
    ),
    _boolean("active", True, "false: never polled.", seed=True),
    _text(
        "name",
        500,
        "Unique within the tenant; made from the server and folder when not given.",
        chartmogul="name",
    ),
    _shown("uuid", FieldType.TEXT, "The data source's uuid (ds_...).", chartmogul="uuid"),
    _shown(
        "status",
        FieldType.CHOICE,
        "working while a run is under way.",
        choices=_values(SourceStatus),
        chartmogul="status",
    ),
    _text("filePattern", 500, "Glob of the files to import (default *)."),
    _text("excludePattern", 500, "Glob of the files to leave alone."),
    _choice("afterImport", _values(AfterImport), "What becomes of an imported file (default KEEP)."),
    _text("archiveDirectory", 1000, "Where MOVE puts imported files."),
    _boolean("recursive", False, "true: files in sub-folders too."),
    _shown(
        "hostKeyFingerprint",
        FieldType.TEXT,
        "The pinned SFTP host key, as OpenSSH prints it (SHA256:...).",
        column="host_key",
        derived=True,
    ),
    SourceField(
        "schedule",
        "schedule",
        FieldType.SCHEDULE,
        "When the source is polled: every N seconds (60 to 2678400), or a five-field cron expression in "
        "UTC; null: the installation's poll interval.",
        writable=True,
        derived=True,
        examples=(3600, "0 3 * * *"),
    ),
    _shown(
        "lastRunStatus",
        FieldType.CHOICE,
        "How the latest run went; null before the first.",
        choices=_values(RunOutcome),
    ),
    _shown(
        "lastError",
        FieldType.OBJECT,
        "Why the latest finished run failed (code, message, at); null when it ended well.",
        column="last_error_code",
        derived=True,
    ),
    _shown(
        "nextRunTime",
        FieldType.TIME,
        "When the source is polled next; null: never.",
        column="next_run_at",
        derived=True,
    ),
    _shown(
        "system",
        FieldType.TEXT,
        "The source type, or Custom for upload-only sources.",
        partner=False,
        chartmogul="system",
    ),
    _shown(
        "createdAt", FieldType.TIME, "When the source was created.", partner=False, chartmogul="created_at"
    ),
)

BY_NAME: MappingProxyType[str, SourceField] = MappingProxyType({f.name: f for f in FIELDS})
# The position of each field in the contract's order: problems are sorted by it.
POSITION: MappingProxyType[str, int] = MappingProxyType({f.name: n for n, f in enumerate(FIELDS)})
WRITABLE: tuple[SourceField, ...] = tuple(f for f in FIELDS if f.writable)
SECRETS: tuple[SourceField, ...] = tuple(f for f in FIELDS if f.masked)

# Seed 000's answer example lists its fields in this order, not in its request table's.
CONTRACT_ANSWER_ORDER = (
    "id",
    "host",
    "user",
    "password",
    "workingDirectory",
    "processorType",
    "fileImportType",
    "dataSourceType",
    "touchpointCode",
    "authenticationType",
    "active",
    "privateKeyFile",
    "passphrase",
    "region",
    "reprocessingDays",
    "lastRunningTime",
    "amountCalculated",
)
if set(CONTRACT_ANSWER_ORDER) != {f.name for f in FIELDS if f.seed}:
    raise RuntimeError("the contract's answer order names other fields than the table's seed fields")

# The partner answer: the contract's fields in its answer's order, then headwater's in the table's.
PARTNER_FIELDS: tuple[SourceField, ...] = (
    *(BY_NAME[name] for name in CONTRACT_ANSWER_ORDER),
    *(f for f in FIELDS if f.partner and not f.seed),
)
# The integration answer: every field, null ones left out.
INTEGRATION_FIELDS: tuple[SourceField, ...] = FIELDS
# The ChartMogul answer: its name, and the field.
CHARTMOGUL_FIELDS: tuple[tuple[str, SourceField], ...] = tuple(
    (f.chartmogul, f) for f in FIELDS if f.chartmogul is not None
)


__all__ = [
    "BY_NAME",
    "CHARTMOGUL_FIELDS",
    "CONTRACT_ANSWER_ORDER",
    "FIELDS",
    "INTEGRATION_FIELDS",
    "PARTNER_FIELDS",
    "POSITION",
    "SECRETS",
    "WRITABLE",
    "FieldType",
    "SourceField",
]
