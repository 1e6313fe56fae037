"""Shared fixtures: settings, a migrated database on SQLite or PostgreSQL, and a running app.

PostgreSQL tests use the server on 127.0.0.1:5432; each test run creates its own database and drops it
at the end. Without the server they are skipped, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import structlog
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy import text

from headwater.api.app import create_app
from headwater.runtime import Runtime, open_runtime
from headwater.settings import Settings
from headwater.store.tables import ONLY_ON, Base

pytest_plugins = ["tests.servers"]

PG_ADMIN_DSN = os.environ.get("HEADWATER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"
SECRET_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Commands run in-process point structlog and the root handler at their runner's streams, which
    are closed once the command ends: every test starts from the defaults again."""
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    root.handlers = [handler for handler in root.handlers if handler.get_name() != "headwater"]


def service_missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is not reachable, and CI must not skip tests that need it")
    pytest.skip(f"{what} is not reachable")


def postgres_admin() -> psycopg.Connection[Any]:
    """An autocommit connection to the server's admin database, to create and drop databases."""
    try:
        return psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError:
        service_missing("PostgreSQL")
        raise


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test run's own, migrated once, dropped at the end."""
    name = f"headwater_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with postgres_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    from headwater.runtime import prepare_store

    prepare_store(url)
    yield url
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each store test runs on both databases."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}"
        return
    url: str = request.getfixturevalue("postgres_url")
    yield url
    _truncate_postgres(url)


def _truncate_postgres(url: str) -> None:
    dsn = url.replace("postgresql+asyncpg", "postgresql")
    tables = ", ".join(
        f'"{t.name}"' for t in Base.metadata.sorted_tables if t.info.get(ONLY_ON, "postgresql") == "postgresql"
    )
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": SECRET_KEY,
        "secret_key_file": tmp_path / "headwater.key",
        "allow_private_hosts": True,
        "run_imports": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """For tests whose subject does not depend on the database."""
    return make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}")


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    async with open_runtime(settings) as opened:
        yield opened


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The whole app with its lifespan entered, and an httpx client talking to it in-process."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client


# The app under test and a client of it, as ``app_client`` yields them.
AppClient = tuple[FastAPI, httpx.AsyncClient]


def runtime_of(app: FastAPI) -> Runtime:
    """The runtime the app serves with: its database, settings and runner."""
    runtime: Runtime = app.state.runtime
    return runtime


@pytest.fixture
async def app_client(settings: Settings) -> AsyncIterator[AppClient]:
    async with running_app(settings) as pair:
        yield pair


async def execute(runtime: Runtime, sql: str) -> None:
    async with runtime.db.session() as session:
        await session.execute(text(sql))
