"""Alembic, driven from code: ``headwater migrate``, start-up of ``serve``, and the schema check in tests."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from headwater.errors import ConfigurationError
from headwater.store.database import secure_sqlite_file
from headwater.store.tables import ONLY_ON, Base

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration under ``migrations/versions`` (``test_migrations`` holds it to Alembic's own
# head). A store already there is left alone without importing Alembic, which every process that opens
# the store would otherwise load and keep: some 13 MB of a serving process's resting size.
HEAD = "0011_sqlite_record_blocks"


def sync_url(url: str) -> str:
    """The same database through a blocking driver, for Alembic."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}[parsed.get_backend_name()]
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """headwater's own tables only (the job queue's are ``store/queue_schema.py``'s). Blocking: run from a
    thread when an event loop is running."""
    secure_sqlite_file(url)
    if revision == "head" and _stored_revision(url) == HEAD:
        return
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def _stored_revision(url: str) -> str | None:
    """The migration the store is at, None for a store not migrated yet."""
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            revision: str | None = connection.scalar(text("SELECT version_num FROM alembic_version"))
            return revision
    finally:
        engine.dispose()


def shown_url(url: str) -> str:
    """The URL for messages: no password, and a relative SQLite path made absolute."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        parsed = parsed.set(database=str(Path(parsed.database).absolute()))
    return parsed.render_as_string(hide_password=True)


def store_exists(url: str) -> bool:
    """Blocking: whether ``url`` holds a migrated headwater store, found without creating anything.

    A SQLite file is looked for before it is opened, since opening one creates it.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or not Path(database).is_file():
            return False
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return inspect(connection).has_table("alembic_version")
    except SQLAlchemyError as exc:
        # The driver's own first line says why (refused, unknown database); it never holds the password.
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise ConfigurationError(f"cannot open the database {shown_url(url)}: {reason}") from exc
    finally:
        engine.dispose()


def pending_differences(url: str) -> list[Any]:
    """What the models hold that the migrated database does not (empty when they agree)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(sync_url(url), hide_parameters=True)
    dialect = engine.dialect.name

    def meant_for_this_database(item: Any, name: Any, kind: str, reflected: bool, compare_to: Any) -> bool:
        only_on = getattr(item, "info", {}).get(ONLY_ON) if not reflected else None
        return only_on in (None, dialect)

    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": meant_for_this_database}
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()
