"""The domain's vocabularies, shared by the core, the store and every dialect."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ProcessorType(IntEnum):
    PERSON = 25000
    COMPANY = 25004
    PHYSICAL_LOCATION = 25006
    PARTNER_SALES = 25011
    PARTNER_STOCK = 25012


class DataSourceType(StrEnum):
    FTP = "FTP"
    SFTP = "SFTP"
    S3 = "S3"


class AuthenticationType(StrEnum):
    PASSWORD = "PASSWORD"
    CERTIFICATE = "CERTIFICATE"


class FileImportType(StrEnum):
    PARTY = "PARTY"
    PRINCIPAL = "PRINCIPAL"


class AfterImport(StrEnum):
    KEEP = "KEEP"
    MOVE = "MOVE"
    DELETE = "DELETE"


class SourceStatus(StrEnum):
    IDLE = "idle"
    WORKING = "working"


class FileState(StrEnum):
    IMPORTED = "imported"
    # Rows are being written in several short transactions (SQLite): none of them is visible until the
    # file turns imported; a file left importing by a process that died is discarded and imported again.
    IMPORTING = "importing"
    # The file itself cannot be imported (unreadable, too large): tried again only when it changes.
    FAILED = "failed"
    # The file's transaction was rolled back (database error, shutdown): tried again at the next run.
    ROLLED_BACK = "rolledback"
    # An operator asked for the file again: the next run downloads and imports it even if unchanged,
    # replacing the rows it gave before.
    REIMPORT_REQUESTED = "reimport"


class RunOutcome(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # some files failed, others imported
    FAILED = "failed"
    SKIPPED = "skipped"  # queued, never started: the process that was to run it stopped


CUSTOM_SYSTEM = "Custom"
SECRET_MASK = "********"
