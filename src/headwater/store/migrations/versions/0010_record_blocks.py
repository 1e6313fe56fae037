"""Rows per block of ids (``record_blocks``), so that an offset does not count every row before it.

PostgreSQL finds the rows of ``OFFSET n`` by walking the n index entries before them: at 10,000,000
records a page near the end took as long as reading them all. ``record_blocks`` holds how many rows of
each source every record table has among each block of 16,384 ids; a page by offset sums the blocks
before it, then counts at most one block's rows.

Statement triggers with transition tables keep the counts, one statement of theirs per ``COPY``,
``INSERT`` or ``DELETE`` of records (a row trigger would run a million times for a million rows), in the
writer's transaction: every writer is covered, and a reader sees counts and rows of the same snapshot.
An upsert that updates a row changes no count: a record's id, tenant and source never change. A
``TRUNCATE`` of a record table (an operator's, never headwater's) drops the table's counts with it.

SQLite keeps no counts: nothing changes there.

Revision ID: 0010_record_blocks
Revises: 0009_record_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_record_blocks"
down_revision = "0009_record_keys"
branch_labels = None
depends_on = None

TABLES = ("partner_sales", "partner_stock", "persons", "companies", "physical_locations")
BLOCK = "((id >> 14) << 14)"  # the first id of a row's block of 16,384

FUNCTIONS = (
    f"""
CREATE FUNCTION record_blocks_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO record_blocks AS counted (tenant_id, record_table, data_source_id, first_id, rows)
    SELECT tenant_id, TG_TABLE_NAME, data_source_id, {BLOCK}, count(*) FROM added
    GROUP BY tenant_id, data_source_id, {BLOCK}
    ORDER BY tenant_id, data_source_id, {BLOCK}
    ON CONFLICT (tenant_id, record_table, data_source_id, first_id)
    DO UPDATE SET rows = counted.rows + excluded.rows;
    RETURN NULL;
END
$$
""",
    f"""
CREATE FUNCTION record_blocks_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO record_blocks AS counted (tenant_id, record_table, data_source_id, first_id, rows)
    SELECT tenant_id, TG_TABLE_NAME, data_source_id, {BLOCK}, -count(*) FROM removed
    GROUP BY tenant_id, data_source_id, {BLOCK}
    ORDER BY tenant_id, data_source_id, {BLOCK}
    ON CONFLICT (tenant_id, record_table, data_source_id, first_id)
    DO UPDATE SET rows = counted.rows + excluded.rows;
    DELETE FROM record_blocks
    WHERE rows = 0 AND record_table = TG_TABLE_NAME
      AND (tenant_id, data_source_id) IN (SELECT DISTINCT tenant_id, data_source_id FROM removed);
    RETURN NULL;
END
$$
""",
    """
CREATE FUNCTION record_blocks_emptied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM record_blocks WHERE record_table = TG_TABLE_NAME;
    RETURN NULL;
END
$$
""",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_table(
        "record_blocks",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("record_table", sa.String(40), nullable=False),
        sa.Column("data_source_id", sa.BigInteger(), nullable=False),
        sa.Column("first_id", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "record_table", "data_source_id", "first_id", name=op.f("pk_record_blocks")
        ),
    )
    for function in FUNCTIONS:
        op.execute(function)
    # Writers wait until the counts and their triggers commit together: no row is missed or counted twice.
    op.execute(f"LOCK TABLE {', '.join(TABLES)} IN SHARE MODE")
    for table in TABLES:
        op.execute(
            "INSERT INTO record_blocks (tenant_id, record_table, data_source_id, first_id, rows)"
            f" SELECT tenant_id, '{table}', data_source_id, {BLOCK}, count(*) FROM {table}"
            f" GROUP BY tenant_id, data_source_id, {BLOCK}"
        )
        op.execute(
            f"CREATE TRIGGER {table}_blocks_added AFTER INSERT ON {table} REFERENCING NEW TABLE AS added"
            " FOR EACH STATEMENT EXECUTE FUNCTION record_blocks_added()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_blocks_removed AFTER DELETE ON {table} REFERENCING OLD TABLE AS removed"
            " FOR EACH STATEMENT EXECUTE FUNCTION record_blocks_removed()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_blocks_emptied AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION record_blocks_emptied()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_blocks_emptied ON {table}")
        op.execute(f"DROP TRIGGER {table}_blocks_removed ON {table}")
        op.execute(f"DROP TRIGGER {table}_blocks_added ON {table}")
    op.execute("DROP FUNCTION record_blocks_emptied()")
    op.execute("DROP FUNCTION record_blocks_removed()")
    op.execute("DROP FUNCTION record_blocks_added()")
    op.drop_table("record_blocks")
