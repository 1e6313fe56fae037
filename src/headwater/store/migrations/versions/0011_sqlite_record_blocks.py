"""SQLite: rows per block of ids (``record_blocks``), as PostgreSQL has kept them since ``0010``.

A page by offset into a tenant's or a source's records read every row before it: 353 ms for the
last page of 3,000,000. SQLite has no statement triggers, and a row trigger on insert cost imports
20-78% more, so the writer of the rows counts what it adds (``store.record_counts``) and a row
trigger counts what is deleted. ``record_blocks_reach`` holds how far the counts go; rows above it
(written by something other than headwater) are counted by a page row by row, and into their blocks
at the table's next counted write. The trigger lowers the reach when the newest rows go, because
SQLite then gives their ids out again.

The existing rows are counted here, in the migration's transaction.

PostgreSQL: nothing changes.

Revision ID: 0011_sqlite_record_blocks
Revises: 0010_record_blocks
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_sqlite_record_blocks"
down_revision = "0010_record_blocks"
branch_labels = None
depends_on = None

TABLES = ("partner_sales", "partner_stock", "persons", "companies", "physical_locations")
BLOCK = "((id >> 14) << 14)"  # the first id of a row's block of 16,384
OLD_BLOCK = "((OLD.id >> 14) << 14)"

# One statement per deleted row: the row leaves its block, then the reach comes down to the largest id
# left if the row was above it (in this order, so that every counted row is taken off before the
# reach passes below it).
REMOVED = f"""
CREATE TRIGGER {{table}}_blocks_removed AFTER DELETE ON {{table}}
WHEN OLD.id <= (SELECT last_id FROM record_blocks_reach WHERE record_table = '{{table}}')
BEGIN
    UPDATE record_blocks SET rows = rows - 1
    WHERE tenant_id = OLD.tenant_id AND record_table = '{{table}}'
      AND data_source_id = OLD.data_source_id AND first_id = {OLD_BLOCK};
    UPDATE record_blocks_reach SET last_id = (SELECT coalesce(max(id), 0) FROM {{table}})
    WHERE record_table = '{{table}}' AND last_id > (SELECT coalesce(max(id), 0) FROM {{table}});
END
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.create_table(
        "record_blocks",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("record_table", sa.String(40), nullable=False),
        sa.Column("data_source_id", sa.Integer(), nullable=False),
        sa.Column("first_id", sa.Integer(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "record_table", "data_source_id", "first_id", name=op.f("pk_record_blocks")
        ),
    )
    op.create_table(
        "record_blocks_reach",
        sa.Column("record_table", sa.String(40), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("record_table", name=op.f("pk_record_blocks_reach")),
    )
    for table in TABLES:
        op.execute(
            "INSERT INTO record_blocks (tenant_id, record_table, data_source_id, first_id, rows)"
            f" SELECT tenant_id, '{table}', data_source_id, {BLOCK}, count(*) FROM {table}"
            f" GROUP BY tenant_id, data_source_id, {BLOCK}"
        )
        op.execute(
            "INSERT INTO record_blocks_reach (record_table, last_id)"
            f" SELECT '{table}', coalesce(max(id), 0) FROM {table}"
        )
        op.execute(REMOVED.format(table=table))


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_blocks_removed")
    op.drop_table("record_blocks_reach")
    op.drop_table("record_blocks")
