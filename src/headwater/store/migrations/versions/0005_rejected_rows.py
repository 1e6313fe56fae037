"""Rejected rows keep their text; import files keep their header and delimiter.

Revision ID: 0005_rejected_rows
Revises: 0004_runs_and_schedules
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_rejected_rows"
down_revision = "0004_runs_and_schedules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_errors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw_line", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("raw_truncated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("import_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("header_line", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("delimiter", sa.String(length=1), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_files", schema=None) as batch_op:
        batch_op.drop_column("delimiter")
        batch_op.drop_column("header_line")
    with op.batch_alter_table("import_errors", schema=None) as batch_op:
        batch_op.drop_column("raw_truncated")
        batch_op.drop_column("raw_line")
