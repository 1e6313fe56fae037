"""An installation is a store and the secret key it was created with; every process must find both.

Only ``headwater serve`` and ``headwater migrate`` create a store or a key file. Any other process that
finds neither refuses to start with ``InstallationNotFound``, naming where it looked, instead of making
an empty store next to wherever it was started.

The store records the fingerprint of its primary key the first time a process opens it with keys (a
new store at once; an existing store on its first start after the upgrade that added the record). A
process whose keys do not include the recorded one refuses to start with ``SecretKeyMismatch``: with
the wrong key every stored secret would fail to decrypt and every issued token would be unknown.

Rotation: list the new key first and the old one after it. The check passes because the old key is
still listed, and the new key's fingerprint is recorded in its place, so the old key can be dropped
later. From then on a process holding only the old key is refused.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from headwater.access.crypto import SecretBox, key_source
from headwater.errors import ConfigurationError
from headwater.settings import ENV_FILE_VARIABLE, Settings
from headwater.store import installation as store
from headwater.store.database import Database
from headwater.store.migrate import shown_url, store_exists

HOW_TO_POINT = (
    "run `headwater migrate` or `headwater serve` to create a new installation, or point to an existing "
    "one with HEADWATER_DATABASE_URL (or --database-url) and HEADWATER_SECRET_KEY or "
    f"HEADWATER_SECRET_KEY_FILE, in the environment or in an env file ({ENV_FILE_VARIABLE}, "
    "./headwater.env when it exists)"
)


class InstallationNotFound(ConfigurationError):
    """No store, or no secret key, where the settings say they are."""

    code = "InstallationNotFound"


class SecretKeyMismatch(ConfigurationError):
    """The configured secret keys do not include the one the store was created with."""

    code = "SecretKeyMismatch"


def require_installation(settings: Settings) -> None:
    """Blocking: ``InstallationNotFound`` unless both the store and a secret key are there."""
    has_store = store_exists(settings.database_url)
    has_key = settings.secret_key is not None or settings.secret_key_file.is_file()
    if has_store and has_key:
        return
    missing = [what for what, found in (("no store", has_store), ("no secret key", has_key)) if not found]
    raise InstallationNotFound(
        f"{' and '.join(missing)}: looked for the database {shown_url(settings.database_url)} "
        f"and for {key_source(settings)}; {HOW_TO_POINT}"
    )


async def check_key_fingerprint(db: Database, box: SecretBox, settings: Settings) -> None:
    """Record the primary key's fingerprint, or ``SecretKeyMismatch`` when no configured key is the store's."""
    primary = box.fingerprints[0]
    for attempt in (1, 2):
        try:
            async with db.session() as session:
                recorded = await store.key_fingerprint(session)
                if recorded == primary:
                    return
                if recorded is not None and recorded not in box.fingerprints:
                    raise SecretKeyMismatch(
                        f"the secret keys from {key_source(settings)} do not include the key the store "
                        f"{shown_url(settings.database_url)} was created with (key fingerprint "
                        f"{recorded[:16]}, configured {', '.join(f[:16] for f in box.fingerprints)}); "
                        "configure that key, after any newer one"
                    )
                await store.record_key_fingerprint(session, primary)
                return
        except IntegrityError:
            if attempt == 2:
                raise
            # Another process recorded the first fingerprint at the same moment: check against it.


__all__ = ["InstallationNotFound", "SecretKeyMismatch", "check_key_fingerprint", "require_installation"]
