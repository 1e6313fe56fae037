"""The job queue's tables (procrastinate's, for distributed mode) and the libpq form of the database URL.

The queue lives in its own PostgreSQL schema, so headwater's Alembic migrations never see it; the
process that starts (``runtime.prepare_store``) applies both. Nothing here knows about jobs or runs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine.url import make_url

from headwater.errors import ConfigurationError
from headwater.logging import get_logger

log = get_logger(__name__)

QUEUE_SCHEMA = "procrastinate"
# pg_advisory_lock key held while the queue schema is applied (jobs/queue.py holds another one).
_SCHEMA_LOCK = 0x68_77_71_01


def libpq_conninfo(database_url: str) -> str:
    """The libpq connection string for a SQLAlchemy URL such as ``postgresql+asyncpg://…``."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ConfigurationError("distributed mode needs a PostgreSQL HEADWATER_DATABASE_URL")
    params: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
    }
    query = {key: value if isinstance(value, str) else value[-1] for key, value in url.query.items()}
    ssl = query.get("sslmode") or query.get("ssl")  # asyncpg says ssl=, libpq says sslmode=
    if ssl:
        params["sslmode"] = {"true": "require", "false": "disable"}.get(ssl.lower(), ssl)
    # psycopg and the queue's library are imported where used: only distributed mode needs them.
    import psycopg.conninfo

    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v is not None})


def apply_queue_schema(database_url: str) -> None:
    """Create procrastinate's tables once; a no-op when they exist. Blocking: run it in a thread.

    Concurrent callers (several workers starting together) wait on an advisory lock.
    """
    import psycopg

    with psycopg.connect(libpq_conninfo(database_url), autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
        try:
            found = connection.execute(
                "SELECT to_regclass(%s)", (f"{QUEUE_SCHEMA}.procrastinate_jobs",)
            ).fetchone()
            if found is not None and found[0] is not None:
                return
            # Only a store without the queue's tables loads the queue's library here.
            from procrastinate.schema import SchemaManager

            with connection.transaction():
                connection.execute(f"CREATE SCHEMA IF NOT EXISTS {QUEUE_SCHEMA}")
                connection.execute(f"SET LOCAL search_path TO {QUEUE_SCHEMA}")
                connection.execute(SchemaManager.get_schema())
            log.info("job queue schema created", schema=QUEUE_SCHEMA)
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))
