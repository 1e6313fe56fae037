"""Where the secret keys come from, and what rotation keeps readable."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from headwater.access.crypto import SecretBox, load_secret_box
from headwater.errors import ConfigurationError
from headwater.settings import Settings


def test_embedded_mode_generates_a_key_file_only_its_owner_can_read(tmp_path: Path) -> None:
    key_file = tmp_path / "headwater.key"

    box = load_secret_box(Settings(secret_key_file=key_file))

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = load_secret_box(Settings(secret_key_file=key_file))
    assert again.decrypt(box.encrypt("password")) == "password"


def test_a_configured_key_is_used_and_no_key_file_is_written(tmp_path: Path) -> None:
    key_file = tmp_path / "headwater.key"

    load_secret_box(Settings(secret_key=Fernet.generate_key().decode(), secret_key_file=key_file))

    assert not key_file.exists()


def test_rotation_keeps_old_secrets_and_tokens_readable_while_the_old_key_is_listed() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = SecretBox([old])
    stored, digest = before.encrypt("s3cret"), before.digest("token")

    after = SecretBox([new, old])

    assert after.decrypt(stored) == "s3cret"
    assert digest in after.digests("token")
    assert after.digest("token") != digest  # new digests are made under the new key
    assert SecretBox([new]).decrypt(after.encrypt("x")) == "x"


def test_a_secret_that_no_configured_key_opens_fails_without_showing_it() -> None:
    stored = SecretBox([Fernet.generate_key().decode()]).encrypt("s3cret-value")

    with pytest.raises(ConfigurationError) as raised:
        SecretBox([Fernet.generate_key().decode()]).decrypt(stored)

    assert "s3cret-value" not in str(raised.value)


def test_a_malformed_key_is_refused_at_start_up() -> None:
    with pytest.raises(ConfigurationError):
        SecretBox(["not-a-fernet-key"])
