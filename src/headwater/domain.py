"""The domain's vocabularies, shared by the core, the store and every dialect."""

from __future__ import annotations

from dataclasses import dataclass, replace
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


class FileOutcomeState(StrEnum):
    """What became of one file in one run or upload. The first three are also ledger states (``FileState``);
    the other two leave the ledger as it was."""

    IMPORTED = FileState.IMPORTED.value
    FAILED = FileState.FAILED.value
    ROLLED_BACK = FileState.ROLLED_BACK.value
    # Unchanged, changed outside ``reprocessingDays``, or touched with the same checksum: nothing imported.
    SKIPPED = "skipped"
    # The download broke off: nothing is recorded, the run fails and the next one tries the file again.
    TRANSFER_FAILED = "transfer_failed"


class DryRunState(StrEnum):
    VALID = "valid"
    # The file cannot be read at all (wrong columns, not a CSV/XLSX): nothing of it would be imported.
    FAILED = "failed"


class RunOutcome(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # some files failed, others imported
    FAILED = "failed"
    SKIPPED = "skipped"  # queued, never started: the process that was to run it stopped


CUSTOM_SYSTEM = "Custom"
SECRET_MASK = "********"


# The raw text kept with a rejected row: its first 4 KB (UTF-8), the rest cut and flagged.
MAX_RAW_BYTES = 4096


@dataclass(frozen=True)
class RowError:
    """A rejected row (or, with no line, the file as a whole), kept with the file's import."""

    line: int | None  # 1-based line in the file, the header being line 1; None for the file as a whole
    column: str | None
    code: str  # InvalidDate, MissingColumn, InvalidNumber, FutureStockDate, DuplicateTransaction, ...
    message: str
    raw: str | None = None  # the row as the file holds it (see ``processors.rejected``)
    raw_truncated: bool = False

    def with_raw(self, text: str) -> RowError:
        """This error with the row's text, cut to ``MAX_RAW_BYTES``; a NUL (which PostgreSQL cannot
        store in text) becomes U+FFFD."""
        if "\x00" in text:
            text = text.replace("\x00", "\ufffd")
        if len(text) * 4 <= MAX_RAW_BYTES:
            return replace(self, raw=text, raw_truncated=False)
        data = text.encode("utf-8", "replace")
        if len(data) <= MAX_RAW_BYTES:
            return replace(self, raw=text, raw_truncated=False)
        return replace(self, raw=data[:MAX_RAW_BYTES].decode("utf-8", "ignore"), raw_truncated=True)
