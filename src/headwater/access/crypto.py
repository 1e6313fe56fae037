"""Secrets at rest: Fernet encryption for what headwater must use, argon2 for what it only checks.

Random tokens and keys are found by a keyed digest (HMAC-SHA256) and, for touchpoint tokens and
partner passwords, confirmed against an argon2 hash. Every configured Fernet key also keys a digest,
so tokens issued under an older key are still found while that key stays listed (rotation).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from headwater.errors import ConfigurationError
from headwater.settings import Settings

_hasher = PasswordHasher()


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(hashed: str, secret: str) -> bool:
    try:
        return _hasher.verify(hashed, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def new_password() -> str:
    return secrets.token_urlsafe(18)


class SecretBox:
    """Encrypts with the first key, decrypts with any of them, and digests tokens."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ConfigurationError("at least one secret key is required")
        try:
            fernets = [Fernet(key.strip().encode()) for key in keys]
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                "HEADWATER_SECRET_KEY must be one or more comma-separated Fernet keys"
            ) from exc
        self._fernet = MultiFernet(fernets)
        self._digest_keys = [
            hashlib.sha256(b"headwater-digest:" + key.strip().encode()).digest() for key in keys
        ]
        # Names each key without revealing it: what the store records to recognise its key.
        self.fingerprints = [
            hashlib.sha256(b"headwater-fingerprint:" + key.strip().encode()).hexdigest() for key in keys
        ]

    @classmethod
    def generate_key(cls) -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ConfigurationError(
                "a stored secret cannot be decrypted with the configured HEADWATER_SECRET_KEY"
            ) from exc

    def encrypt_optional(self, plaintext: str | None) -> str | None:
        return None if plaintext is None else self.encrypt(plaintext)

    def decrypt_optional(self, token: str | None) -> str | None:
        return None if token is None else self.decrypt(token)

    def digest(self, secret: str) -> str:
        """The digest to store, under the newest key."""
        return hmac.new(self._digest_keys[0], secret.encode(), hashlib.sha256).hexdigest()

    def digests(self, secret: str) -> list[str]:
        """Every digest the secret may be stored under, newest key first."""
        return [hmac.new(key, secret.encode(), hashlib.sha256).hexdigest() for key in self._digest_keys]


def key_source(settings: Settings) -> str:
    """Where this process takes its keys from, for messages (never the keys)."""
    if settings.secret_key is not None:
        return "HEADWATER_SECRET_KEY"
    return f"the key file {settings.secret_key_file.absolute()}"


def load_secret_box(settings: Settings, *, create: bool = True) -> SecretBox:
    """Keys from ``HEADWATER_SECRET_KEY``, else from the key file, generated (mode 0600) on first start."""
    if settings.secret_key is not None:
        keys = [k for k in settings.secret_key.get_secret_value().split(",") if k.strip()]
        return SecretBox(keys)
    path: Path = settings.secret_key_file
    if path.exists():
        keys = [k for k in path.read_text().split(",") if k.strip()]
        return SecretBox(keys)
    if not create:
        raise ConfigurationError(f"no secret key: set HEADWATER_SECRET_KEY or create {path}")
    key = SecretBox.generate_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return SecretBox([key])
