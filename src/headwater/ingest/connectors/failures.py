"""Translate what ftplib, asyncssh, botocore and the socket layer raise into headwater's source errors.

Messages say what failed and where, in words an operator can act on; they are scrubbed of every secret
of the source, since a server may echo back what it was sent.
"""

from __future__ import annotations

import asyncio
import ftplib
import re
import socket
import ssl
from collections.abc import Iterable
from typing import Literal
from urllib.parse import quote, quote_plus

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from fsspec.exceptions import FSTimeoutError

from headwater.errors import (
    ConnectionFailed,
    SourceAuthenticationFailed,
    SourceError,
    TransferFailed,
)

Step = Literal["connect", "list", "transfer", "delete", "move"]

_MASK = "********"
_AUTH_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "ExpiredToken",
        "InvalidToken",
        "AuthorizationHeaderMalformed",
        "AllAccessDisabled",
    }
)


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret masked, in any letter case, also inside a longer word and in its
    URL-encoded form (servers echo what they were sent, sometimes upper-cased or quoted)."""
    forms: set[str] = set()
    for secret in secrets:
        # Secrets shorter than four characters would mask ordinary words, not protect anything.
        if secret and len(secret) >= 4:
            forms.update({secret, quote(secret, safe=""), quote_plus(secret, safe="")})
    if not forms:
        return text
    # Longest first, so that a secret inside another one does not leave the rest of the longer one.
    pattern = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    return re.sub(pattern, _MASK, text, flags=re.IGNORECASE)


def _refusal_inside(exc: BaseException) -> SourceError | None:
    """Our own error raised deep inside a client library (the host guard runs inside aiohttp), which
    the library wrapped in its own (botocore's HTTPClientError keeps it as ``error``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, SourceError):
            return current
        seen.add(id(current))
        wrapped = getattr(current, "kwargs", {}).get("error") if isinstance(current, BotoCoreError) else None
        current = wrapped if isinstance(wrapped, BaseException) else current.__cause__ or current.__context__
    return None


def _detail(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "..."


def _ftp_code(exc: ftplib.Error) -> str:
    return str(exc)[:3]


def translate(exc: BaseException, *, step: Step, where: str, secrets: Iterable[str | None]) -> SourceError:
    """The headwater error for ``exc``, raised while doing ``step`` against ``where`` (e.g. "SFTP server h:22")."""
    # SSH's library (some 10 MB) is loaded by an SFTP source's connector, not by every process.
    import asyncssh

    refused = _refusal_inside(exc)
    if refused is not None:
        return refused
    reaching = step in ("connect", "list")
    failure: type[SourceError] = ConnectionFailed if reaching else TransferFailed
    action = {
        "connect": f"cannot connect to {where}",
        "list": f"cannot list the working directory on {where}",
        "transfer": f"cannot download from {where}",
        "delete": f"cannot delete on {where}",
        "move": f"cannot move on {where}",
    }[step]

    def made(kind: type[SourceError], message: str) -> SourceError:
        return kind(scrub(message, secrets))

    if isinstance(exc, asyncssh.KeyImportError):
        return made(
            SourceAuthenticationFailed, f"{action}: the private key cannot be read (wrong passphrase?)"
        )
    if isinstance(exc, asyncssh.PermissionDenied) or (isinstance(exc, PermissionError) and step == "connect"):
        return made(SourceAuthenticationFailed, f"{action}: the server refused the credentials")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return made(SourceAuthenticationFailed, f"{action}: no usable credentials")
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _AUTH_CODES:
            return made(SourceAuthenticationFailed, f"{action}: the server refused the credentials ({code})")
        if code in ("NoSuchBucket", "NoSuchKey", "404"):
            return _not_found(step, action, secrets)
        return made(failure, f"{action}: {_detail(exc)}")
    if isinstance(exc, PermissionError):
        if step == "list":
            return made(SourceAuthenticationFailed, f"{action}: access denied ({_detail(exc)})")
        return made(failure, f"{action}: permission denied ({_detail(exc)})")
    if isinstance(exc, FileNotFoundError):
        return _not_found(step, action, secrets)
    if isinstance(exc, ftplib.error_perm):
        code = _ftp_code(exc)
        if code in ("530", "332"):
            return made(
                SourceAuthenticationFailed, f"{action}: the server refused the credentials ({_detail(exc)})"
            )
        if code == "550" and step != "connect":
            return _not_found(step, action, secrets, _detail(exc))
        return made(failure, f"{action}: the server answered {_detail(exc)}")
    if isinstance(exc, ftplib.Error):
        return made(failure, f"{action}: the server answered {_detail(exc)}")
    if isinstance(exc, ssl.SSLError):
        return made(failure, f"{action}: TLS failed ({_detail(exc)})")
    if isinstance(exc, socket.gaierror):
        return made(ConnectionFailed, f"{action}: the host name cannot be resolved")
    if isinstance(exc, TimeoutError | socket.timeout | asyncio.TimeoutError | FSTimeoutError):
        return made(failure, f"{action}: timed out")
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
        return made(failure, f"{action}: timed out")
    if isinstance(exc, ConnectionRefusedError):
        return made(failure, f"{action}: connection refused")
    if isinstance(exc, EOFError | ConnectionError | asyncssh.ConnectionLost):
        return made(failure, f"{action}: the connection was closed by the server")
    if isinstance(exc, asyncssh.DisconnectError):
        return made(failure, f"{action}: the server disconnected ({_detail(exc)})")
    if isinstance(exc, asyncssh.SFTPError | asyncssh.ChannelOpenError):
        return made(failure, f"{action}: {_detail(exc)}")
    if isinstance(exc, EndpointConnectionError):
        return made(failure, f"{action}: the endpoint is unreachable")
    if isinstance(exc, BotoCoreError | OSError):
        return made(failure, f"{action}: {_detail(exc)}")
    return made(failure, f"{action}: unexpected {type(exc).__name__}: {_detail(exc)}")


def _not_found(step: Step, action: str, secrets: Iterable[str | None], detail: str = "") -> SourceError:
    suffix = f" ({detail})" if detail else ""
    if step in ("connect", "list"):
        return ConnectionFailed(
            scrub(f"{action}: the working directory or bucket does not exist{suffix}", secrets)
        )
    return TransferFailed(scrub(f"{action}: the file no longer exists on the server{suffix}", secrets))
