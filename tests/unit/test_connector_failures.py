"""Third-party errors become headwater source errors with a clear message and no secret in it."""

from __future__ import annotations

import ftplib
import socket

import asyncssh
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from headwater.errors import ConnectionFailed, SourceAuthenticationFailed, SourceError, TransferFailed
from headwater.ingest.connectors.failures import scrub, translate

SECRET = "Very-Secret-Pa55"
WHERE = "FTP server example.com:21"


def _translate(exc: BaseException, step: str = "connect") -> SourceError:
    return translate(exc, step=step, where=WHERE, secrets=[SECRET, None, ""])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "exc",
    [
        ftplib.error_perm(f"530 Login incorrect for password {SECRET}"),
        asyncssh.PermissionDenied(f"denied {SECRET}"),
        PermissionError(f"Permission denied {SECRET}"),
        NoCredentialsError(),
        ClientError({"Error": {"Code": "SignatureDoesNotMatch", "Message": SECRET}}, "ListObjectsV2"),
        asyncssh.KeyImportError(f"bad key {SECRET}"),
    ],
)
def test_refused_credentials_become_authentication_failures_without_the_secret(exc: BaseException) -> None:
    error = _translate(exc)
    assert isinstance(error, SourceAuthenticationFailed)
    assert SECRET not in str(error)
    assert SECRET not in repr(error)
    assert WHERE in str(error)


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError("timed out"),
        socket.gaierror(-2, "Name or service not known"),
        EOFError(),
        ftplib.error_temp("421 Too many connections"),
        asyncssh.ConnectionLost("lost"),
        EndpointConnectionError(endpoint_url="http://x"),
        FileNotFoundError("/missing"),
    ],
)
def test_unreachable_servers_become_connection_failures(exc: BaseException) -> None:
    assert isinstance(_translate(exc, "list"), ConnectionFailed)


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionResetError(104, "reset"),
        EOFError(),
        FileNotFoundError("x"),
        ftplib.error_perm("550 No such file"),
    ],
)
def test_failures_while_transferring_become_transfer_failures(exc: BaseException) -> None:
    assert isinstance(_translate(exc, "transfer"), TransferFailed)


def test_a_vanished_file_is_reported_as_such() -> None:
    assert "no longer exists" in str(_translate(FileNotFoundError("x"), "transfer"))


def test_a_server_echoing_the_secret_is_scrubbed() -> None:
    error = _translate(ftplib.error_reply(f"200 hello {SECRET}"), "transfer")
    assert SECRET not in str(error)
    assert "********" in str(error)


def test_headwater_errors_pass_through_unchanged() -> None:
    original = TransferFailed("too large")
    assert _translate(original) is original


@pytest.mark.parametrize(
    "echoed",
    [
        SECRET,
        SECRET.upper(),
        SECRET.lower(),
        f"prefix{SECRET}suffix",
        f"user:{SECRET.swapcase()}@host",
    ],
    ids=["as-is", "upper", "lower", "inside-a-word", "swapped-case"],
)
def test_a_secret_echoed_in_any_case_or_inside_a_longer_word_is_masked(echoed: str) -> None:
    error = _translate(ftplib.error_perm(f"530 rejected {echoed} here"))
    assert SECRET.lower() not in error.message.lower()
    assert "********" in error.message


@pytest.mark.parametrize(
    "echoed", ["pa%20ss%2Fw%C3%B6rd%2B1", "pa+ss%2fw%c3%b6rd%2b1"], ids=["quoted", "form-quoted-lower"]
)
def test_a_secret_echoed_url_encoded_is_masked(echoed: str) -> None:
    assert scrub(f"GET /?p={echoed}&x=1 refused", ["pa ss/wörd+1"]) == "GET /?p=********&x=1 refused"


def test_scrub_masks_the_longer_of_two_overlapping_secrets_whole() -> None:
    assert scrub("key=abcdEFGH-1234 pass=abcd", ["abcd", "ABCDefgh-1234"]) == "key=******** pass=********"


def test_scrub_leaves_short_secrets_and_ordinary_text_alone() -> None:
    assert scrub("the abc of it", ["abc", None, ""]) == "the abc of it"
