"""credentials that can be managed; the fingerprint of the store's secret key

Revision ID: 0003_credentials_lifecycle
Revises: 0002_upload_only
Create Date: 2026-11-30 09:00:00

Touchpoints and partners can be revoked, touchpoint tokens rotated and partner passwords reset. The
``installation`` row is filled by the first process that opens the store with its keys, so existing
stores record the fingerprint of the first key that opens them after this upgrade.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_credentials_lifecycle"
down_revision: str | None = "0002_upload_only"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "installation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
    )
    with op.batch_alter_table("touchpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_issued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_set_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("password_set_at")
    with op.batch_alter_table("touchpoints", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("token_issued_at")
    op.drop_table("installation")
