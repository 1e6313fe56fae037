"""SFTP against asyncssh's server on loopback: password and key authentication, host key pinning."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime

import pytest

from headwater.connectors import connector_for
from headwater.errors import ConnectionFailed, HostKeyChanged, SourceAuthenticationFailed, TransferFailed
from headwater.settings import Settings
from tests.servers import SftpServerInfo

pytestmark = pytest.mark.servers


@pytest.fixture
def settings() -> Settings:
    return Settings(allow_private_hosts=True, connect_timeout=5)


async def test_password_login_reports_the_server_host_key(
    sftp_server: SftpServerInfo, settings: Settings
) -> None:
    sftp_server.put("in/a.csv", b"1\n")
    async with connector_for(sftp_server.config("/in"), settings) as connector:
        assert connector.host_key == sftp_server.host_key
        assert connector.host_key.startswith("ssh-ed25519 AAAA")
        assert [f.path for f in await connector.list_files()] == ["a.csv"]


async def test_private_key_login_without_a_password(sftp_server: SftpServerInfo, settings: Settings) -> None:
    sftp_server.put("in/a.csv", b"key\n")
    config = sftp_server.config("/in", password=None, private_key=sftp_server.private_key)
    async with connector_for(config, settings) as connector:
        sink = io.BytesIO()
        await connector.download("a.csv", sink)
    assert sink.getvalue() == b"key\n"


@pytest.mark.parametrize("key_format", ["pkcs8", "openssh"])
async def test_passphrase_protected_private_key_login(
    key_format: str, sftp_server: SftpServerInfo, settings: Settings
) -> None:
    sftp_server.put("in/a.csv", b"locked\n")
    key = (
        sftp_server.encrypted_private_key
        if key_format == "pkcs8"
        else sftp_server.encrypted_openssh_private_key
    )
    config = sftp_server.config("/in", password=None, private_key=key, passphrase=sftp_server.passphrase)
    async with connector_for(config, settings) as connector:
        assert [f.path for f in await connector.list_files()] == ["a.csv"]


async def test_wrong_passphrase_is_an_authentication_failure_without_secrets(
    sftp_server: SftpServerInfo, settings: Settings
) -> None:
    wrong = "not-the-Passphrase-42"
    config = sftp_server.config(
        "/in", password=None, private_key=sftp_server.encrypted_private_key, passphrase=wrong
    )
    with pytest.raises(SourceAuthenticationFailed, match="private key") as failure:
        async with connector_for(config, settings):
            pass
    for text in (str(failure.value), repr(failure.value)):
        assert wrong not in text
        assert "PRIVATE KEY" not in text


async def test_wrong_password_is_an_authentication_failure_that_does_not_reveal_it(
    sftp_server: SftpServerInfo, settings: Settings
) -> None:
    wrong = "Wrong-Sftp-Pa55word"
    with pytest.raises(SourceAuthenticationFailed) as failure:
        async with connector_for(sftp_server.config(password=wrong), settings):
            pass
    for text in (str(failure.value), repr(failure.value), str(failure.value.__cause__)):
        assert wrong not in text
        assert sftp_server.password not in text


async def test_unknown_private_key_is_refused(sftp_server: SftpServerInfo, settings: Settings) -> None:
    import asyncssh

    stranger = asyncssh.generate_private_key("ssh-ed25519").export_private_key("openssh").decode()
    with pytest.raises(SourceAuthenticationFailed):
        async with connector_for(sftp_server.config(password=None, private_key=stranger), settings):
            pass


async def test_pinned_host_key_that_matches_connects(sftp_server: SftpServerInfo, settings: Settings) -> None:
    config = sftp_server.config("/", pinned_host_key=sftp_server.host_key)
    async with connector_for(config, settings) as connector:
        assert connector.host_key == sftp_server.host_key


async def test_changed_host_key_is_refused_once_pinned(
    sftp_server: SftpServerInfo, settings: Settings
) -> None:
    async with connector_for(sftp_server.config("/"), settings) as connector:
        pinned = connector.host_key
    new_key = sftp_server.restart_with_new_host_key()
    assert new_key != pinned

    with pytest.raises(HostKeyChanged, match=r"host key .* changed"):
        async with connector_for(sftp_server.config("/", pinned_host_key=pinned), settings):
            pass
    # Unpinned (an operator reset the pin), the new key is accepted and reported.
    async with connector_for(sftp_server.config("/"), settings) as connector:
        assert connector.host_key == new_key


async def test_unreadable_pinned_key_requires_a_reset(
    sftp_server: SftpServerInfo, settings: Settings
) -> None:
    with pytest.raises(HostKeyChanged, match="reset the pin"):
        async with connector_for(sftp_server.config("/", pinned_host_key="ssh-ed25519 garbage"), settings):
            pass


async def test_listing_reports_the_server_mtime_in_utc(
    sftp_server: SftpServerInfo, settings: Settings
) -> None:
    stamp = datetime(2024, 3, 1, 12, 30, 15, tzinfo=UTC)
    sftp_server.put("in/dated.csv", b"1\n", mtime=stamp)
    async with connector_for(sftp_server.config("/in"), settings) as connector:
        (listed,) = await connector.list_files()
    assert listed.mtime == stamp


async def test_missing_working_directory_fails_the_connection(
    sftp_server: SftpServerInfo, settings: Settings
) -> None:
    async with connector_for(sftp_server.config("/nowhere"), settings) as connector:
        with pytest.raises(ConnectionFailed, match="does not exist"):
            await connector.list_files()


async def test_server_going_away_mid_download_fails_the_transfer(
    sftp_server: SftpServerInfo, settings: Settings
) -> None:
    sftp_server.put("in/big.bin", os.urandom(16 * 1024 * 1024))

    class StopServerOnFirstChunk(io.BytesIO):
        def write(self, data: bytes, /) -> int:  # type: ignore[override]
            if not self.tell():
                sftp_server.stop()
            return super().write(data)

    sink = StopServerOnFirstChunk()
    with pytest.raises(TransferFailed):
        async with connector_for(sftp_server.config("/in"), settings) as connector:
            await connector.download("big.bin", sink)
    assert len(sink.getvalue()) < 16 * 1024 * 1024


async def test_listed_names_with_control_characters_are_skipped(
    sftp_server: SftpServerInfo, settings: Settings
) -> None:
    sftp_server.put("in/good.csv", b"1\n")
    sftp_server.put("in/evil\r\nDELE x.csv", b"2\n")
    async with connector_for(sftp_server.config("/in"), settings) as connector:
        assert [f.path for f in await connector.list_files()] == ["good.csv"]
