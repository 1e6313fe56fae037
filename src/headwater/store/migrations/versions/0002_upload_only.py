"""upload-only sources told apart by a column no API can set, not by their name

Revision ID: 0002_upload_only
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_upload_only"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("data_sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("upload_only", sa.Boolean(), server_default=sa.false(), nullable=False))
    # The sources uploads made until now: named uploads/<owner partner id or "tenant">/<processor type>
    # by the upload code itself, which made them as Custom sources (no server) of that owner and type.
    sources = sa.table(
        "data_sources",
        sa.column("name", sa.String),
        sa.column("owner_partner_id", sa.BigInteger),
        sa.column("processor_type", sa.Integer),
        sa.column("system", sa.String),
        sa.column("data_source_type", sa.String),
        sa.column("upload_only", sa.Boolean),
    )
    owner = sa.func.coalesce(sa.cast(sources.c.owner_partner_id, sa.String), "tenant")
    expected_name = sa.literal("uploads/") + owner + "/" + sa.cast(sources.c.processor_type, sa.String)
    op.execute(
        sources.update()
        .where(
            sources.c.name == expected_name,
            sources.c.system == "Custom",
            sources.c.data_source_type.is_(None),
        )
        .values(upload_only=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("data_sources", schema=None) as batch_op:
        batch_op.drop_column("upload_only")
