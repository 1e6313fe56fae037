"""Record tables: cheaper keys with the same rules.

PostgreSQL: the record's own key becomes the primary key (it was a unique constraint beside a primary
key on ``id``); the file index becomes BRIN; ``id`` keeps its sequence and is indexed with the tenant
and with the source, for paging in id order. SQLite keeps ``id`` as the rowid and the record's key as a unique constraint:
that is already its cheapest design (``benchmarks/record_keys.py``), so nothing changes there.

Revision ID: 0009_record_keys
Revises: 0008_console_rollup
"""

from __future__ import annotations

from alembic import op

revision = "0009_record_keys"
down_revision = "0008_console_rollup"
branch_labels = None
depends_on = None

# Table -> the record's key after data_source_id.
KEYS = {
    "partner_sales": ("transaction_id", "sku"),
    "partner_stock": ("stock_date", "sku"),
    "persons": ("key",),
    "companies": ("key",),
    "physical_locations": ("code",),
}


def _unique_name(table: str, key: tuple[str, ...]) -> str:
    return f"uq_{table}_data_source_id_{'_'.join(key)}"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, key in KEYS.items():
        columns = ", ".join(("data_source_id", *key))
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}")
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {_unique_name(table, key)}")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({columns})")
        op.execute(f"DROP INDEX ix_{table}_import_file_id")
        op.execute(f"CREATE INDEX ix_{table}_import_file_id ON {table} USING brin (import_file_id)")
        op.execute(
            f"CREATE UNIQUE INDEX ix_{table}_tenant_id_id ON {table} (tenant_id, id) INCLUDE (import_file_id)"
        )
        op.execute(
            f"CREATE INDEX ix_{table}_data_source_id_id ON {table} (data_source_id, id) "
            "INCLUDE (tenant_id, import_file_id)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, key in KEYS.items():
        columns = ", ".join(("data_source_id", *key))
        op.execute(f"DROP INDEX ix_{table}_data_source_id_id")
        op.execute(f"DROP INDEX ix_{table}_tenant_id_id")
        op.execute(f"DROP INDEX ix_{table}_import_file_id")
        op.execute(f"CREATE INDEX ix_{table}_import_file_id ON {table} (import_file_id)")
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id)")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {_unique_name(table, key)} UNIQUE ({columns})")
