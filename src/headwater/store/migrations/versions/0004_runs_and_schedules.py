"""Runs seen from outside: queued runs, their row counts and error code; per-source schedules.

Revision ID: 0004_runs_and_schedules
Revises: 0003_credentials_lifecycle
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_runs_and_schedules"
down_revision = "0003_credentials_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("rows_ok", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("rows_with_errors", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("error_code", sa.String(length=60), nullable=True))
        batch_op.alter_column("started_at", existing_type=sa.DateTime(timezone=True), nullable=True)
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.alter_column("rows_ok", server_default=None)
        batch_op.alter_column("rows_with_errors", server_default=None)
    with op.batch_alter_table("data_sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("last_run_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("last_error_code", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("last_error_message", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True))
    # Sources that have run show their latest run's status from now on.
    op.execute(
        "UPDATE data_sources SET last_run_status = ("
        "SELECT runs.outcome FROM runs WHERE runs.data_source_id = data_sources.id "
        "ORDER BY runs.id DESC LIMIT 1)"
    )


def downgrade() -> None:
    with op.batch_alter_table("data_sources", schema=None) as batch_op:
        batch_op.drop_column("last_error_at")
        batch_op.drop_column("last_error_message")
        batch_op.drop_column("last_error_code")
        batch_op.drop_column("last_run_status")
        batch_op.drop_column("schedule")
    op.execute("DELETE FROM runs WHERE started_at IS NULL")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.alter_column("started_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.drop_column("error_code")
        batch_op.drop_column("rows_with_errors")
        batch_op.drop_column("rows_ok")
        batch_op.drop_column("queued_at")
