"""A store and the secret key it was created with: found, never made by accident, and never mismatched."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from headwater.installation import InstallationNotFound, SecretKeyMismatch, require_installation
from headwater.runtime import open_runtime
from headwater.settings import Settings
from headwater.store.migrate import store_exists
from tests.conftest import make_settings, postgres_admin


def keys(*names: str) -> str:
    return ",".join(names)


async def open_with(settings: Settings, secret_key: str) -> None:
    async with open_runtime(settings.model_copy(update={"secret_key": SecretStr(secret_key)}), create=False):
        pass


async def test_keys_that_do_not_include_the_stores_key_are_refused_by_name(settings: Settings) -> None:
    async with open_runtime(settings):  # records the fingerprint of the tests' key
        pass
    stranger = Fernet.generate_key().decode()
    with pytest.raises(SecretKeyMismatch) as refused:
        await open_with(settings, stranger)
    assert "created with" in refused.value.message
    assert stranger not in refused.value.message


async def test_rotation_keeps_working_and_moves_the_recorded_key_forward(settings: Settings) -> None:
    old = settings.secret_key.get_secret_value() if settings.secret_key else ""
    new = Fernet.generate_key().decode()
    async with open_runtime(settings):
        pass
    await open_with(settings, keys(new, old))  # the new key first, the old one still listed
    await open_with(settings, new)  # the old key dropped
    with pytest.raises(SecretKeyMismatch):
        await open_with(settings, old)


def test_a_sqlite_store_that_is_not_there_is_not_created_by_looking(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "headwater.db"
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{missing}", secret_key=None)
    with pytest.raises(InstallationNotFound) as refused:
        require_installation(settings)
    assert str(missing) in refused.value.message
    assert str(tmp_path / "headwater.key") in refused.value.message
    assert "HEADWATER_DATABASE_URL" in refused.value.message
    assert not missing.exists() and not (tmp_path / "headwater.key").exists()


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    name = f"headwater_empty_{uuid.uuid4().hex[:8]}"
    with postgres_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+asyncpg://postgres:hunter2@127.0.0.1:5432/{name}"
    with postgres_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_an_unmigrated_postgres_database_is_no_store(tmp_path: Path, empty_postgres: str) -> None:
    assert not store_exists(empty_postgres)
    with pytest.raises(InstallationNotFound) as refused:
        require_installation(make_settings(tmp_path, empty_postgres))
    assert "no store" in refused.value.message and "no secret key" not in refused.value.message
    assert "hunter2" not in refused.value.message and "***" in refused.value.message


@pytest.mark.postgres
def test_a_migrated_postgres_database_is_a_store(postgres_url: str) -> None:
    assert store_exists(postgres_url)
