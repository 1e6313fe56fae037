"""Files and rows imported per source and UTC day (``daily_imports``), kept by triggers on the ledger.

The console's overview and charts show 30 days of rows per source. Grouping the ledger for that read
every file of the window on every page; this table holds one row per source and day instead, and the
ledger keeps it: a trigger on ``import_files`` takes a row's old contribution (when it was ``imported``)
off its day and adds its new one, in the transaction that changes the row. Every writer of the ledger is
covered that way — both import paths, re-import requests, failures, abandoned imports, deletes by
cascade — with no second bookkeeping in Python to forget.

A day is the UTC date of ``finished_at``, as the grouped query had it. An index on
``import_files (data_source_id, finished_at)`` serves the last-24-hours totals, and one on
``runs (data_source_id, id)`` finds each source's last run in one probe (PostgreSQL otherwise walks
the runs backwards by id until it meets the source's, all of them for a source long paused).

Beware: SQLite's batch mode (``render_as_batch``) copies a table it alters and drops its triggers; a
later migration that alters ``import_files`` in batch mode must create ``TRIGGERS_SQLITE`` again
(``tests/integration/test_daily_imports.py`` checks that they exist at head).

Revision ID: 0008_console_rollup
Revises: 0007_webhooks
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_console_rollup"
down_revision = "0007_webhooks"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_SQLITE_ADD = """
    INSERT INTO daily_imports (data_source_id, day, tenant_id, files, rows_ok, rows_with_errors)
    SELECT NEW.data_source_id, date(NEW.finished_at), NEW.tenant_id, 1, NEW.rows_ok, NEW.rows_with_errors
    WHERE NEW.state = 'imported' AND NEW.finished_at IS NOT NULL
    ON CONFLICT (data_source_id, day) DO UPDATE SET
        files = files + 1,
        rows_ok = rows_ok + excluded.rows_ok,
        rows_with_errors = rows_with_errors + excluded.rows_with_errors;
"""
_SQLITE_TAKE = """
    UPDATE daily_imports SET
        files = files - 1,
        rows_ok = rows_ok - OLD.rows_ok,
        rows_with_errors = rows_with_errors - OLD.rows_with_errors
    WHERE OLD.state = 'imported' AND data_source_id = OLD.data_source_id AND day = date(OLD.finished_at);
    DELETE FROM daily_imports
    WHERE data_source_id = OLD.data_source_id AND day = date(OLD.finished_at) AND files <= 0;
"""
_IMPORTED_OLD = "(OLD.state = 'imported' AND OLD.finished_at IS NOT NULL)"
_IMPORTED_NEW = "(NEW.state = 'imported' AND NEW.finished_at IS NOT NULL)"
_COUNTED = "state, finished_at, rows_ok, rows_with_errors"

TRIGGERS_SQLITE = {
    "import_files_daily_insert": (
        f"CREATE TRIGGER import_files_daily_insert AFTER INSERT ON import_files WHEN {_IMPORTED_NEW}"
        f" BEGIN {_SQLITE_ADD} END"
    ),
    "import_files_daily_update": (
        f"CREATE TRIGGER import_files_daily_update AFTER UPDATE OF {_COUNTED} ON import_files"
        f" WHEN {_IMPORTED_OLD} OR {_IMPORTED_NEW} BEGIN {_SQLITE_TAKE} {_SQLITE_ADD} END"
    ),
    "import_files_daily_delete": (
        f"CREATE TRIGGER import_files_daily_delete AFTER DELETE ON import_files WHEN {_IMPORTED_OLD}"
        f" BEGIN {_SQLITE_TAKE} END"
    ),
}

_PG_DAY_OLD = "CAST(timezone('UTC', OLD.finished_at) AS date)"
_PG_DAY_NEW = "CAST(timezone('UTC', NEW.finished_at) AS date)"
FUNCTION_POSTGRES = f"""
CREATE OR REPLACE FUNCTION import_files_daily() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND {_IMPORTED_OLD} THEN
        UPDATE daily_imports SET
            files = files - 1,
            rows_ok = rows_ok - OLD.rows_ok,
            rows_with_errors = rows_with_errors - OLD.rows_with_errors
        WHERE data_source_id = OLD.data_source_id AND day = {_PG_DAY_OLD};
        DELETE FROM daily_imports
        WHERE data_source_id = OLD.data_source_id AND day = {_PG_DAY_OLD} AND files <= 0;
    END IF;
    IF TG_OP <> 'DELETE' AND {_IMPORTED_NEW} THEN
        INSERT INTO daily_imports (data_source_id, day, tenant_id, files, rows_ok, rows_with_errors)
        VALUES (NEW.data_source_id, {_PG_DAY_NEW}, NEW.tenant_id, 1, NEW.rows_ok, NEW.rows_with_errors)
        ON CONFLICT (data_source_id, day) DO UPDATE SET
            files = daily_imports.files + 1,
            rows_ok = daily_imports.rows_ok + excluded.rows_ok,
            rows_with_errors = daily_imports.rows_with_errors + excluded.rows_with_errors;
    END IF;
    RETURN NULL;
END
$$
"""
TRIGGER_POSTGRES = (
    f"CREATE TRIGGER import_files_daily AFTER INSERT OR DELETE OR UPDATE OF {_COUNTED} ON import_files"
    " FOR EACH ROW EXECUTE FUNCTION import_files_daily()"
)


def upgrade() -> None:
    op.create_table(
        "daily_imports",
        sa.Column("data_source_id", Id, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("rows_ok", sa.BigInteger(), nullable=False),
        sa.Column("rows_with_errors", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["data_source_id"],
            ["data_sources.id"],
            name=op.f("fk_daily_imports_data_source_id_data_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_daily_imports_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("data_source_id", "day", name=op.f("pk_daily_imports")),
    )
    op.create_index(op.f("ix_daily_imports_tenant_id"), "daily_imports", ["tenant_id"])
    op.create_index("ix_import_files_source_finished", "import_files", ["data_source_id", "finished_at"])
    op.create_index("ix_runs_source_last", "runs", ["data_source_id", "id"])
    postgres = op.get_bind().dialect.name == "postgresql"
    day = "CAST(timezone('UTC', finished_at) AS date)" if postgres else "date(finished_at)"
    # Triggers after the backfill, in the same transaction: no change is counted twice or missed.
    op.execute(
        "INSERT INTO daily_imports (data_source_id, day, tenant_id, files, rows_ok, rows_with_errors)"
        f" SELECT data_source_id, {day}, min(tenant_id), count(*), sum(rows_ok), sum(rows_with_errors)"
        " FROM import_files WHERE state = 'imported' AND finished_at IS NOT NULL"
        f" GROUP BY data_source_id, {day}"
    )
    if postgres:
        op.execute(FUNCTION_POSTGRES)
        op.execute(TRIGGER_POSTGRES)
    else:
        for create in TRIGGERS_SQLITE.values():
            op.execute(create)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS import_files_daily ON import_files")
        op.execute("DROP FUNCTION IF EXISTS import_files_daily()")
    else:
        for name in TRIGGERS_SQLITE:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_runs_source_last", table_name="runs")
    op.drop_index("ix_import_files_source_finished", table_name="import_files")
    op.drop_index(op.f("ix_daily_imports_tenant_id"), table_name="daily_imports")
    op.drop_table("daily_imports")
