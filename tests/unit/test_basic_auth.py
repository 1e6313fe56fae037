"""HTTP Basic credentials, decoded in one place for the three dialects."""

from __future__ import annotations

import base64

import pytest
from fastapi.security.http import HTTPAuthorizationCredentials

from headwater.api.basic_auth import BasicCredentials, MalformedBasic, credentials_of, decode


def encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_a_utf8_password_with_colons_is_kept_whole() -> None:
    assert decode(encoded("ada@acme.example:pä:ss")) == BasicCredentials("ada@acme.example", "pä:ss")


@pytest.mark.parametrize("given", ["not base64!", encoded("no-colon"), base64.b64encode(b"a:\xff").decode()])
def test_malformed_credentials_are_refused(given: str) -> None:
    with pytest.raises(MalformedBasic):
        decode(given)


def test_another_scheme_or_no_header_gives_no_credentials() -> None:
    assert credentials_of(None) is None
    assert credentials_of(HTTPAuthorizationCredentials(scheme="Bearer", credentials="x")) is None
    basic = HTTPAuthorizationCredentials(scheme="basic", credentials=encoded("k:"))
    assert credentials_of(basic) == BasicCredentials("k", "")
