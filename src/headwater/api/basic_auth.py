"""HTTP Basic credentials (RFC 7617), decoded in one place for every dialect.

FastAPI's ``HTTPBasic`` decodes ASCII only and answers a malformed header with its own 401; partners'
passwords may be any UTF-8 and each dialect answers a malformed header in its own style, so the
dialects declare the scheme with ``BasicScheme`` and decode it here.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from fastapi.security.http import HTTPAuthorizationCredentials, HTTPBase


class MalformedBasic(ValueError):
    """The header says Basic, but what follows is not base64 of ``user:password`` in UTF-8."""


@dataclass(frozen=True)
class BasicCredentials:
    username: str
    password: str


def decode(encoded: str) -> BasicCredentials:
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise MalformedBasic("malformed HTTP Basic credentials") from exc
    username, colon, password = decoded.partition(":")
    if not colon:
        raise MalformedBasic("malformed HTTP Basic credentials")
    return BasicCredentials(username, password)


def says_basic(given: HTTPAuthorizationCredentials | None) -> bool:
    return given is not None and given.scheme.lower() == "basic"


def credentials_of(given: HTTPAuthorizationCredentials | None) -> BasicCredentials | None:
    """The Basic credentials of an Authorization header (None: none, or another scheme)."""
    if given is None or not says_basic(given):
        return None
    return decode(given.credentials)


def basic_scheme(name: str, description: str) -> HTTPBase:
    """The scheme as the OpenAPI document shows it; never answers by itself (``auto_error`` off)."""
    return HTTPBase(scheme="basic", scheme_name=name, description=description, auto_error=False)
