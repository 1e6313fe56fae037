"""SFTP against asyncssh's server on loopback: password and key authentication, host key pinning."""

from __future__ import annotations

import io

import pytest

from headwater.errors import HostKeyChanged, SourceAuthenticationFailed
from headwater.ingest.connectors import connector_for
from headwater.settings import Settings
from tests.servers import SftpServerInfo

pytestmark = pytest.mark.servers


async def test_password_login_reports_the_server_host_key(
    sftp_server: SftpServerInfo, connector_settings: Settings
) -> None:
    sftp_server.put("in/a.csv", b"1\n")
    async with connector_for(sftp_server.config("/in"), connector_settings) as connector:
        assert connector.host_key == sftp_server.host_key
        assert connector.host_key.startswith("ssh-ed25519 AAAA")
        assert [f.path for f in await connector.list_files()] == ["a.csv"]


async def test_private_key_login_without_a_password(
    sftp_server: SftpServerInfo, connector_settings: Settings
) -> None:
    sftp_server.put("in/a.csv", b"key\n")
    config = sftp_server.config("/in", password=None, private_key=sftp_server.private_key)
    async with connector_for(config, connector_settings) as connector:
        sink = io.BytesIO()
        await connector.download("a.csv", sink)
    assert sink.getvalue() == b"key\n"


@pytest.mark.parametrize("key_format", ["pkcs8", "openssh"])
async def test_passphrase_protected_private_key_login(
    key_format: str, sftp_server: SftpServerInfo, connector_settings: Settings
) -> None:
    sftp_server.put("in/a.csv", b"locked\n")
    key = (
        sftp_server.encrypted_private_key
        if key_format == "pkcs8"
        else sftp_server.encrypted_openssh_private_key
    )
    config = sftp_server.config("/in", password=None, private_key=key, passphrase=sftp_server.passphrase)
    async with connector_for(config, connector_settings) as connector:
        assert [f.path for f in await connector.list_files()] == ["a.csv"]


async def test_wrong_passphrase_is_an_authentication_failure_without_secrets(
    sftp_server: SftpServerInfo, connector_settings: Settings
) -> None:
    wrong = "not-the-Passphrase-42"
    config = sftp_server.config(
        "/in", password=None, private_key=sftp_server.encrypted_private_key, passphrase=wrong
    )
    with pytest.raises(SourceAuthenticationFailed, match="private key") as failure:
        async with connector_for(config, connector_settings):
            pass
    for text in (str(failure.value), repr(failure.value)):
        assert wrong not in text
        assert "PRIVATE KEY" not in text


async def test_unknown_private_key_is_refused(
    sftp_server: SftpServerInfo, connector_settings: Settings
) -> None:
    import asyncssh

    stranger = asyncssh.generate_private_key("ssh-ed25519").export_private_key("openssh").decode()
    with pytest.raises(SourceAuthenticationFailed):
        async with connector_for(sftp_server.config(password=None, private_key=stranger), connector_settings):
            pass


async def test_pinned_host_key_that_matches_connects(
    sftp_server: SftpServerInfo, connector_settings: Settings
) -> None:
    config = sftp_server.config("/", pinned_host_key=sftp_server.host_key)
    async with connector_for(config, connector_settings) as connector:
        assert connector.host_key == sftp_server.host_key


async def test_changed_host_key_is_refused_once_pinned(
    sftp_server: SftpServerInfo, connector_settings: Settings
) -> None:
    async with connector_for(sftp_server.config("/"), connector_settings) as connector:
        pinned = connector.host_key
    new_key = sftp_server.restart_with_new_host_key()
    assert new_key != pinned

    with pytest.raises(HostKeyChanged, match=r"host key .* changed"):
        async with connector_for(sftp_server.config("/", pinned_host_key=pinned), connector_settings):
            pass
    # Unpinned (an operator reset the pin), the new key is accepted and reported.
    async with connector_for(sftp_server.config("/"), connector_settings) as connector:
        assert connector.host_key == new_key


async def test_unreadable_pinned_key_requires_a_reset(
    sftp_server: SftpServerInfo, connector_settings: Settings
) -> None:
    with pytest.raises(HostKeyChanged, match="reset the pin"):
        async with connector_for(
            sftp_server.config("/", pinned_host_key="ssh-ed25519 garbage"), connector_settings
        ):
            pass


async def test_listed_names_with_control_characters_are_skipped(
    sftp_server: SftpServerInfo, connector_settings: Settings
) -> None:
    sftp_server.put("in/good.csv", b"1\n")
    sftp_server.put("in/evil\r\nDELE x.csv", b"2\n")
    async with connector_for(sftp_server.config("/in"), connector_settings) as connector:
        assert [f.path for f in await connector.list_files()] == ["good.csv"]
