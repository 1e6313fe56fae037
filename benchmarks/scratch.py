"""A PostgreSQL database of its own for one benchmark run, on the local test server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from tests.conftest import PG_ADMIN_DSN


@contextmanager
def scratch_database(prefix: str = "headwater_bench") -> Iterator[str]:
    """Its name; the database is dropped afterwards, even with connections still open."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield name
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
