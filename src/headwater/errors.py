"""headwater's one exception hierarchy.

Adapters translate third-party errors (ftplib, asyncssh, botocore, SQLAlchemy) into these with
``raise X from exc``; each HTTP dialect maps them to its own error format in one place. Messages
never carry secrets.
"""

from __future__ import annotations

from dataclasses import dataclass


class HeadwaterError(Exception):
    """Base of every error headwater raises on purpose."""

    code = "Error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.code)
        self.message = message or self.code


class ConfigurationError(HeadwaterError):
    code = "ConfigurationError"


class NotFound(HeadwaterError):
    code = "NotFound"

    def __init__(self, kind: str, key: object = None) -> None:
        super().__init__(f"{kind} not found" if key is None else f"{kind} {key} not found")
        self.kind = kind
        self.key = key


class Conflict(HeadwaterError):
    code = "Conflict"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class FieldProblem:
    """One validation problem: the field it concerns and a machine-readable code."""

    field: str
    code: str
    message: str = ""


class ValidationFailed(HeadwaterError):
    code = "ValidationFailed"

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(p.message or f"{p.field}: {p.code}" for p in problems))
        self.problems = problems


class InvalidJson(HeadwaterError):
    """A request body that is not JSON, or (``not_an_object``) JSON but not the object asked for."""

    code = "InvalidJson"

    def __init__(self, message: str, *, not_an_object: bool = False) -> None:
        super().__init__(message)
        self.not_an_object = not_an_object


class RequestTooLarge(HeadwaterError):
    """A request body over its limit; refused before the rest of it is read."""

    code = "RequestTooLarge"

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
        self.limit = limit


class ClientGone(HeadwaterError):
    """The client closed its connection before the whole body of its request arrived: no one is left
    to answer, and nothing went wrong on our side."""

    code = "ClientGone"

    def __init__(self) -> None:
        super().__init__("the client closed the connection before the whole request arrived")


class AuthenticationFailed(HeadwaterError):
    code = "AuthenticationFailed"


class PermissionDenied(HeadwaterError):
    code = "PermissionDenied"


class RateLimited(HeadwaterError):
    code = "RateLimited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limit exceeded, retry after {retry_after}s")
        self.retry_after = retry_after


class TooManyFailures(RateLimited):
    """Too many failed sign-ins from one client address or for one credential, refused unchecked.

    ``credential`` names what was being checked: ``touchpoint``, ``partner``, ``client`` or ``api_key``.
    """

    code = "TooManyAttempts"

    def __init__(self, retry_after: int, credential: str) -> None:
        super().__init__(retry_after)
        self.credential = credential


class SourceError(HeadwaterError):
    """Something went wrong talking to a source's server."""

    code = "SourceError"


class HostRefused(SourceError):
    code = "HostRefused"


class ConnectionFailed(SourceError):
    code = "ConnectionFailed"


class SourceAuthenticationFailed(SourceError):
    code = "AuthenticationFailed"


class HostKeyChanged(SourceError):
    code = "HostKeyChanged"


class TransferFailed(SourceError):
    code = "TransferFailed"


class RemotePathRefused(SourceError):
    code = "RemotePathRefused"


class ImportContended(HeadwaterError):
    """A file's rows meet those of another file whose import has not committed yet: the file is
    rolled back and imported again at the next run."""

    code = "ImportContended"


class StoreBusy(HeadwaterError):
    """The database stayed locked by another writer for longer than we wait: try again shortly."""

    code = "StoreBusy"
    retry_after = 5

    def __init__(self) -> None:
        super().__init__("the database is busy, try again shortly")


class NotReimportable(HeadwaterError):
    """A file that cannot be fetched again: it was uploaded, the source has no copy of it."""

    code = "NotReimportable"


class FileUnreadable(HeadwaterError):
    """A file that cannot be imported at all (not CSV/XLSX, missing columns, ...)."""

    code = "FileUnreadable"

    def __init__(self, message: str, code: str = "FileUnreadable") -> None:
        super().__init__(message)
        self.code = code
