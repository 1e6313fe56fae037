"""Migration 0009 turns a store of 0008 with records in it into the new keys, rows and ids unchanged;
0010 (PostgreSQL) and 0011 (SQLite) count its rows per block of ids."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from headwater.store import migrate
from tests.conftest import PG_ADMIN_DSN, postgres_admin

RECORDS = {
    "partner_sales": (
        "transaction_id, sku, sale_date, quantity, amount, total",
        [
            "'T1', 'A', '2024-01-01', 1, 2, 2",
            "'T1', 'B', '2024-01-02', 3, 4, 12",
            "'T2', 'A', '2024-01-03', 5, 6, 30",
        ],
        ("data_source_id", "transaction_id", "sku"),
    ),
    "partner_stock": (
        "stock_date, sku, quantity",
        ["'2024-01-01', 'A', 1", "'2024-01-02', 'A', 2"],
        ("data_source_id", "stock_date", "sku"),
    ),
    "persons": ("key", ["'p1'", "'p2'"], ("data_source_id", "key")),
    "companies": ("key", ["'c1'"], ("data_source_id", "key")),
    "physical_locations": ("code", ["'L1'", "'L2'"], ("data_source_id", "code")),
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of the test's own: migrations start from nothing."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    name = f"headwater_keys_{uuid.uuid4().hex[:8]}"
    with postgres_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as connection:
        return {
            table: [tuple(row) for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
            for table in RECORDS
        }


def _seed(engine: Engine) -> None:
    with engine.begin() as connection:
        for table, (columns, values, _key) in RECORDS.items():
            for n, value in enumerate(values):
                connection.execute(
                    text(
                        f"INSERT INTO {table} (tenant_id, data_source_id, import_file_id, line, {columns}) "
                        f"VALUES (1, 7, {10 + n % 2}, {n + 2}, {value})"
                    )
                )


def test_a_store_of_0008_keeps_its_records_and_ids_under_the_new_keys(fresh_url: str) -> None:
    migrate.upgrade(fresh_url, "0008_console_rollup")
    engine = create_engine(migrate.sync_url(fresh_url))
    try:
        _seed(engine)
        before = _rows(engine)

        migrate.upgrade(fresh_url)

        assert _rows(engine) == before
        assert migrate.pending_differences(fresh_url) == []
        postgres = engine.dialect.name == "postgresql"
        with engine.connect() as connection:
            inspector = inspect(connection)
            for table, (_columns, _values, key) in RECORDS.items():
                primary = inspector.get_pk_constraint(table)["constrained_columns"]
                uniques = [tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)]
                if postgres:
                    assert tuple(primary) == key, table
                    indexes = {
                        name: definition
                        for name, definition in connection.execute(
                            text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t"),
                            {"t": table},
                        )
                    }
                    assert "USING brin (import_file_id)" in indexes[f"ix_{table}_import_file_id"]
                    assert "UNIQUE INDEX" in indexes[f"ix_{table}_tenant_id_id"]
                    assert "(tenant_id, id) INCLUDE (import_file_id)" in indexes[f"ix_{table}_tenant_id_id"]
                    assert (
                        "(data_source_id, id) INCLUDE (tenant_id, import_file_id)"
                        in (indexes[f"ix_{table}_data_source_id_id"])
                    )
                    assert len(indexes) == 4, indexes
                else:
                    assert primary == ["id"], table
                    assert key in uniques, table
                    # The counts hold every row there was.
                    reach = connection.execute(
                        text("SELECT last_id FROM record_blocks_reach WHERE record_table = :t"), {"t": table}
                    ).scalar_one()
                    assert reach == len(RECORDS[table][1]), table
                # The rows already there are counted per block of ids.
                counted = connection.execute(
                    text(
                        "SELECT tenant_id, data_source_id, first_id, rows FROM record_blocks"
                        " WHERE record_table = :t"
                    ),
                    {"t": table},
                ).all()
                assert counted == [(1, 7, 0, len(RECORDS[table][1]))], table

        # New rows are numbered after the old ones, and the record's key still refuses a repeat.
        with engine.begin() as connection:
            last = connection.execute(text("SELECT max(id) FROM partner_sales")).scalar_one()
            new_id = connection.execute(
                text(
                    "INSERT INTO partner_sales (tenant_id, data_source_id, import_file_id, line, transaction_id, "
                    "sku, sale_date, quantity, amount, total) "
                    "VALUES (1, 7, 12, 2, 'T3', 'A', '2024-02-01', 1, 1, 1) RETURNING id"
                )
            ).scalar_one()
            assert new_id > last
            repeated = connection.execute(
                text(
                    "INSERT INTO partner_sales (tenant_id, data_source_id, import_file_id, line, transaction_id, "
                    "sku, sale_date, quantity, amount, total) "
                    "VALUES (1, 7, 12, 3, 'T1', 'A', '2024-02-01', 1, 1, 1) ON CONFLICT DO NOTHING"
                )
            )
            assert repeated.rowcount == 0
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_0009_goes_back_to_the_keys_of_0008_on_postgres() -> None:
    name = f"headwater_keys_{uuid.uuid4().hex[:8]}"
    with postgres_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    engine = create_engine(migrate.sync_url(url))
    try:
        migrate.upgrade(url, "0008_console_rollup")
        _seed(engine)
        before = _rows(engine)
        migrate.upgrade(url)
        from alembic import command

        command.downgrade(migrate.alembic_config(url), "0008_console_rollup")
        assert _rows(engine) == before
        with engine.connect() as connection:
            inspector = inspect(connection)
            assert inspector.get_pk_constraint("partner_sales")["constrained_columns"] == ["id"]
    finally:
        engine.dispose()
        with postgres_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
