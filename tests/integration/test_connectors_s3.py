"""S3 against moto's server mode: the bucket is the host, the working directory a key prefix."""

from __future__ import annotations

import io

import pytest
from moto import settings as moto_settings

from headwater.errors import ConnectionFailed, SourceAuthenticationFailed
from headwater.ingest.connectors import connector_for
from headwater.settings import Settings
from tests.servers import S3ServerInfo

pytestmark = pytest.mark.servers


async def test_listing_reports_the_etag_as_identity(
    s3_server: S3ServerInfo, connector_settings: Settings
) -> None:
    s3_server.put("in/a.csv", b"hello\n")
    async with connector_for(s3_server.config("in/"), connector_settings) as connector:
        (listed,) = await connector.list_files()
    assert listed.path == "a.csv"
    assert listed.identity == "b1946ac92492d2347c6235b4d2611184"  # MD5 of the content, S3's ETag
    assert listed.mtime is not None


@pytest.mark.parametrize("working_directory", ["", "/"])
async def test_empty_or_root_working_directory_is_the_whole_bucket(
    working_directory: str, s3_server: S3ServerInfo, connector_settings: Settings
) -> None:
    s3_server.put("top.csv", b"1\n")
    s3_server.put("in/below.csv", b"2\n")
    config = s3_server.config(working_directory, recursive=True)
    async with connector_for(config, connector_settings) as connector:
        assert [f.path for f in await connector.list_files()] == ["in/below.csv", "top.csv"]


async def test_prefix_nothing_was_uploaded_under_is_empty(
    s3_server: S3ServerInfo, connector_settings: Settings
) -> None:
    async with connector_for(s3_server.config("not-yet"), connector_settings) as connector:
        assert await connector.list_files() == []


async def test_missing_bucket_fails_the_connection(
    s3_server: S3ServerInfo, connector_settings: Settings
) -> None:
    with pytest.raises(ConnectionFailed, match="bucket does not exist"):
        async with connector_for(s3_server.config("/", host="no-such-bucket-here"), connector_settings):
            pass


async def test_invalid_bucket_name_is_refused(s3_server: S3ServerInfo, connector_settings: Settings) -> None:
    with pytest.raises(ConnectionFailed, match="not a valid bucket name"):
        async with connector_for(s3_server.config("/", host="../other"), connector_settings):
            pass


async def test_wrong_secret_is_an_authentication_failure_that_does_not_reveal_it(
    s3_server: S3ServerInfo, connector_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto checks request signatures only when told to.
    monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    wrong = "Wrong-Secret-Access-Key-123"
    with pytest.raises(SourceAuthenticationFailed) as failure:
        async with connector_for(s3_server.config("/", password=wrong), connector_settings):
            pass
    for text in (str(failure.value), repr(failure.value), str(failure.value.__cause__)):
        assert wrong not in text


async def test_download_and_move_keep_within_the_bucket(
    s3_server: S3ServerInfo, connector_settings: Settings
) -> None:
    s3_server.put("in/a.csv", b"payload\n")
    async with connector_for(s3_server.config("in"), connector_settings) as connector:
        sink = io.BytesIO()
        await connector.download("a.csv", sink)
        await connector.move("a.csv", "/archive")
    assert sink.getvalue() == b"payload\n"
    assert s3_server.keys() == ["archive/a.csv"]
