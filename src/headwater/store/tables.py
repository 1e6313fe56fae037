"""SQLAlchemy 2 tables. Every row below ``tenants`` carries ``tenant_id``; repositories filter on it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from headwater.domain import SourceStatus

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
Id = BigInteger().with_variant(Integer(), "sqlite")
Amount = Numeric(20, 6, asdecimal=True)
TZDateTime = DateTime(timezone=True)


class BoundedDate(Date):
    """A DATE whose values are kept within ``earliest..latest``.

    Databases and drivers disagree on the dates they hold: PostgreSQL has no year 0, Python's ``date``
    no year before 1 or after 9999, SQLite stores any text. An imported date outside these bounds is a
    row error (see ``processors.common``), so whatever is stored can be read back everywhere.
    """

    def __init__(self, earliest: date, latest: date) -> None:
        super().__init__()
        self.earliest = earliest
        self.latest = latest


# The dates of imported records: business dates, far from any database's or client's limits.
RecordDate = BoundedDate(date(1900, 1, 1), date(2199, 12, 31))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime)


def tenant_fk() -> Mapped[int]:
    return mapped_column(Id, ForeignKey("tenants.id", ondelete="CASCADE"), index=True)


class Touchpoint(Base):
    __tablename__ = "touchpoints"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = tenant_fk()
    code: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(20), default="REST")
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    # When the current token was issued: at creation, then at each rotation.
    token_issued_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class Installation(Base):
    """One row: the fingerprint of the secret key the store was created with (see ``installation.py``)."""

    __tablename__ = "installation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(TZDateTime)


class Partner(Base):
    __tablename__ = "partners"
    __table_args__ = (UniqueConstraint("tenant_id", "principal"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = tenant_fk()
    principal: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    password_set_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class PartnerSession(Base):
    __tablename__ = "partner_sessions"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = tenant_fk()
    partner_id: Mapped[int] = mapped_column(Id, ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    expires_at: Mapped[datetime] = mapped_column(TZDateTime)


class Operator(Base):
    """An installation's operator: signs in to the console and sees every tenant."""

    __tablename__ = "operators"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    principal: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZDateTime)


class OperatorSession(Base):
    __tablename__ = "operator_sessions"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    operator_id: Mapped[int] = mapped_column(Id, ForeignKey("operators.id", ondelete="CASCADE"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    expires_at: Mapped[datetime] = mapped_column(TZDateTime)


class ApiKey(Base):
    """ChartMogul-style API key (HTTP Basic user name)."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = tenant_fk()
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class OAuthClient(Base):
    __tablename__ = "oauth_clients"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = tenant_fk()
    client_id: Mapped[str] = mapped_column(String(100), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class ClientGrant(Base):
    """An OAuth2 client may use the area keys of each tenant it is granted."""

    __tablename__ = "client_grants"
    __table_args__ = (UniqueConstraint("client_pk", "tenant_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    client_pk: Mapped[int] = mapped_column(Id, ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[int] = tenant_fk()


class AreaKey(Base):
    """An ``x-api-key``: names one tenant (area) and carries its own rate limits."""

    __tablename__ = "area_keys"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = tenant_fk()
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    per_second: Mapped[int | None] = mapped_column(Integer)
    per_day: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class DataSource(Base):
    __tablename__ = "data_sources"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(40), unique=True)
    tenant_id: Mapped[int] = tenant_fk()
    owner_partner_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("partners.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(500))
    system: Mapped[str] = mapped_column(String(20))
    data_source_type: Mapped[str | None] = mapped_column(String(10))
    host: Mapped[str | None] = mapped_column(String(500))
    port: Mapped[int | None] = mapped_column(Integer)
    user: Mapped[str | None] = mapped_column(String(500))
    password_enc: Mapped[str | None] = mapped_column(Text)
    authentication_type: Mapped[str | None] = mapped_column(String(20))
    private_key_enc: Mapped[str | None] = mapped_column(Text)
    passphrase_enc: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(String(100))
    endpoint_url: Mapped[str | None] = mapped_column(String(1000))
    tls: Mapped[bool] = mapped_column(Boolean, default=False)
    working_directory: Mapped[str | None] = mapped_column(String(1000))
    processor_type: Mapped[int | None] = mapped_column(Integer)
    file_import_type: Mapped[str | None] = mapped_column(String(20))
    touchpoint_code: Mapped[str | None] = mapped_column(String(100))
    amount_calculated: Mapped[bool] = mapped_column(Boolean, default=False)
    reprocessing_days: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(10), default=SourceStatus.IDLE.value)
    last_running_time: Mapped[datetime | None] = mapped_column(TZDateTime)
    file_pattern: Mapped[str] = mapped_column(String(500), default="*")
    exclude_pattern: Mapped[str | None] = mapped_column(String(500))
    after_import: Mapped[str] = mapped_column(String(10), default="KEEP")
    archive_directory: Mapped[str | None] = mapped_column(String(1000))
    recursive: Mapped[bool] = mapped_column(Boolean, default=False)
    host_key: Mapped[str | None] = mapped_column(Text)
    # The source headwater made to receive uploads of one processor type (of one partner, or of the
    # tenant); set only by the upload code, never from a request, so no name can stand in for it.
    upload_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    next_run_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    # Seconds ("3600") or a five-field cron expression; null: the global poll interval.
    schedule: Mapped[str | None] = mapped_column(String(100))
    # The latest run's status and the error of the latest finished run, kept by ``store.imports``.
    last_run_status: Mapped[str | None] = mapped_column(String(20))
    last_error_code: Mapped[str | None] = mapped_column(String(60))
    last_error_message: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime)


def source_fk() -> Mapped[int]:
    return mapped_column(Id, ForeignKey("data_sources.id", ondelete="CASCADE"), index=True)


class Run(Base):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = tenant_fk()
    data_source_id: Mapped[int] = source_fk()
    trigger: Mapped[str] = mapped_column(String(20), default="schedule")
    queued_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    # Null while the run waits in the queue.
    started_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    files_seen: Mapped[int] = mapped_column(Integer, default=0)
    files_imported: Mapped[int] = mapped_column(Integer, default=0)
    files_skipped: Mapped[int] = mapped_column(Integer, default=0)
    files_failed: Mapped[int] = mapped_column(Integer, default=0)
    rows_ok: Mapped[int] = mapped_column(Integer, default=0)
    rows_with_errors: Mapped[int] = mapped_column(Integer, default=0)
    # queued, running, succeeded, partial, failed or skipped (``domain.RunOutcome``).
    outcome: Mapped[str] = mapped_column(String(20), default="running")
    error_code: Mapped[str | None] = mapped_column(String(60))
    message: Mapped[str | None] = mapped_column(Text)


class ImportFile(Base):
    """The ledger: one row per file path of a source, updated when the file is imported again."""

    __tablename__ = "import_files"
    __table_args__ = (UniqueConstraint("data_source_id", "path"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = tenant_fk()
    data_source_id: Mapped[int] = source_fk()
    run_id: Mapped[int | None] = mapped_column(Id, ForeignKey("runs.id", ondelete="SET NULL"), index=True)
    path: Mapped[str] = mapped_column(String(2000))
    name: Mapped[str] = mapped_column(String(1000))
    size: Mapped[int | None] = mapped_column(BigInteger)
    mtime: Mapped[datetime | None] = mapped_column(TZDateTime)
    identity: Mapped[str | None] = mapped_column(String(200))
    checksum: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    file_type: Mapped[str | None] = mapped_column(String(10))
    processor_type: Mapped[int | None] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    rows_ok: Mapped[int] = mapped_column(Integer, default=0)
    rows_with_errors: Mapped[int] = mapped_column(Integer, default=0)
    rows_skipped: Mapped[int] = mapped_column(Integer, default=0)
    rows_rollbacked: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # The header as the file writes it and its delimiter: the layout its rejected rows are given back in.
    header_line: Mapped[str | None] = mapped_column(Text)
    delimiter: Mapped[str | None] = mapped_column(String(1))
    started_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime)


class DailyImport(Base):
    """Files imported and their rows per source and UTC day of ``finished_at``: what the console's
    sparklines and charts show, read without grouping the ledger.

    Kept by triggers on ``import_files`` (migration ``0008_console_rollup``): every change of a ledger
    row, whoever makes it (the pipeline's two paths, re-import requests, failures, deletes by cascade),
    takes the row's old contribution off its day and adds the new one, in the same transaction.
    """

    __tablename__ = "daily_imports"
    data_source_id: Mapped[int] = mapped_column(
        Id, ForeignKey("data_sources.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    files: Mapped[int] = mapped_column(Integer)
    rows_ok: Mapped[int] = mapped_column(BigInteger)
    rows_with_errors: Mapped[int] = mapped_column(BigInteger)


def file_fk() -> Mapped[int]:
    return mapped_column(Id, ForeignKey("import_files.id", ondelete="CASCADE"), index=True)


class ImportErrorRow(Base):
    __tablename__ = "import_errors"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = tenant_fk()
    import_file_id: Mapped[int] = file_fk()
    line: Mapped[int | None] = mapped_column(Integer)
    column: Mapped[str | None] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
    # The rejected row's text (see ``processors.rejected``), its first 4 KB; ``raw_truncated`` when cut.
    raw_line: Mapped[str | None] = mapped_column(Text)
    raw_truncated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


# Metadata objects that exist on one database only (see ``_record_keys``); ``migrate`` compares each
# database with the objects meant for it.
ONLY_ON = "headwater_only_on"


class _Record:
    """Columns every imported record keeps: where it came from.

    No foreign keys here: PostgreSQL checks each key on every imported row, and on a COPY of partner
    sales the keys cost more than the rest of the import (measured: three keys made it four times
    slower, one key still twice). Only the import engine writes records, inside the transaction that
    writes their file, and ``store.records`` deletes them with their file or source.

    ``id`` is the number clients see and page by; the database numbers rows from a sequence (SQLite:
    the rowid) in the order they are written. Which keys each database keeps is ``_record_keys``.
    """

    __mapper_args__: ClassVar[dict[str, Any]] = {"primary_key": ["id"]}

    id: Mapped[int] = mapped_column(Id, server_default=FetchedValue())
    tenant_id: Mapped[int] = mapped_column(Id)
    data_source_id: Mapped[int] = mapped_column(Id)
    import_file_id: Mapped[int] = mapped_column(Id)
    line: Mapped[int] = mapped_column(Integer)


def _record_keys(table: str, *key: str) -> tuple[Any, ...]:
    """The keys of a record table: what each costs a COPY is measured by ``benchmarks/record_keys.py``.

    PostgreSQL: the record's own key, ``(data_source_id, *key)``, is the primary key (it decides what is
    skipped or upserted); a BRIN index finds a file's rows, which a file writes contiguously, for a
    fraction of a btree's cost; ``(tenant_id, id)``, filled in ascending order and so cheap to keep,
    pages in id order, the file beside it so that counting rows for ``firstRow`` reads the index alone;
    ``(data_source_id, id)`` does the same for one source's rows (the console's records, the
    ``/dataSources/{id}/...`` listings), which would otherwise walk the tenant's every row before them.
    SQLite: ``id`` stays the rowid (free), the record's key a unique constraint, the file a btree.
    """
    return (
        PrimaryKeyConstraint("data_source_id", *key),
        UniqueConstraint("data_source_id", *key, info={ONLY_ON: "sqlite"}).ddl_if(dialect="sqlite"),
        Index(f"ix_{table}_import_file_id", "import_file_id", postgresql_using="brin"),
        Index(
            f"ix_{table}_tenant_id_id",
            "tenant_id",
            "id",
            unique=True,
            postgresql_include=["import_file_id"],
            info={ONLY_ON: "postgresql"},
        ).ddl_if(dialect="postgresql"),
        Index(
            f"ix_{table}_data_source_id_id",
            "data_source_id",
            "id",
            postgresql_include=["tenant_id", "import_file_id"],
            info={ONLY_ON: "postgresql"},
        ).ddl_if(dialect="postgresql"),
    )


class PartnerSale(_Record, Base):
    __tablename__ = "partner_sales"
    __table_args__ = _record_keys(__tablename__, "transaction_id", "sku")
    sale_date: Mapped[date] = mapped_column(RecordDate)
    transaction_id: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal] = mapped_column(Amount)
    amount: Mapped[Decimal] = mapped_column(Amount)
    total: Mapped[Decimal] = mapped_column(Amount)
    sku: Mapped[str] = mapped_column(String(400))
    partner_sku_code: Mapped[str | None] = mapped_column(String(200))
    sku_code_key: Mapped[str | None] = mapped_column(String(200))
    sku_code: Mapped[str | None] = mapped_column(String(200))
    currency: Mapped[str | None] = mapped_column(String(10))
    credential_principal: Mapped[str | None] = mapped_column(String(200))
    sales_origin: Mapped[str | None] = mapped_column(String(200))
    vendor_id: Mapped[str | None] = mapped_column(String(200))
    descriptions: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PartnerStock(_Record, Base):
    __tablename__ = "partner_stock"
    __table_args__ = _record_keys(__tablename__, "stock_date", "sku")
    stock_date: Mapped[date] = mapped_column(RecordDate)
    quantity: Mapped[Decimal] = mapped_column(Amount)
    amount: Mapped[Decimal | None] = mapped_column(Amount)
    expiration_date: Mapped[date | None] = mapped_column(RecordDate)
    sku: Mapped[str] = mapped_column(String(400))
    partner_sku_code: Mapped[str | None] = mapped_column(String(200))
    sku_code_key: Mapped[str | None] = mapped_column(String(200))
    sku_code: Mapped[str | None] = mapped_column(String(200))
    descriptions: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Person(_Record, Base):
    __tablename__ = "persons"
    __table_args__ = _record_keys(__tablename__, "key")
    key: Mapped[str] = mapped_column(String(400))
    external_id: Mapped[str | None] = mapped_column(String(200))
    principal: Mapped[str | None] = mapped_column(String(400))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    cellphone: Mapped[str | None] = mapped_column(String(50))
    document_type: Mapped[str | None] = mapped_column(String(50))
    document_number: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(RecordDate)
    gender: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(100))


class Company(_Record, Base):
    __tablename__ = "companies"
    __table_args__ = _record_keys(__tablename__, "key")
    key: Mapped[str] = mapped_column(String(400))
    external_id: Mapped[str | None] = mapped_column(String(200))
    principal: Mapped[str | None] = mapped_column(String(400))
    name: Mapped[str | None] = mapped_column(String(500))
    tax_id: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(50))
    address: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(100))


class PhysicalLocation(_Record, Base):
    __tablename__ = "physical_locations"
    __table_args__ = _record_keys(__tablename__, "code")
    code: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(500))
    address: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(100))
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(10, 7))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(10, 7))
    company_code: Mapped[str | None] = mapped_column(String(200))


# The record tables, whose rows ``record_blocks`` counts on PostgreSQL.
RECORD_TABLES = frozenset(
    model.__tablename__ for model in (PartnerSale, PartnerStock, Person, Company, PhysicalLocation)
)


class RecordBlock(Base):
    """How many rows of one source a record table holds among the ids of one block: what an offset
    (``firstRow``) skips whole instead of counting the rows before it one by one.

    A block is ``first_id .. first_id + 16383``. The counts change in the transaction that inserts or
    deletes the rows, so a page reads them in the same snapshot as the rows. On PostgreSQL statement
    triggers on every record table keep them (migration ``0010_record_blocks``), whoever writes; on
    SQLite the writer and a delete trigger do (``store.record_counts``). A record's ``id``, tenant and
    source never change once written. Keyed by source, so imports of different sources never wait on
    each other's counts (one source imports one file at a time).
    """

    __tablename__ = "record_blocks"
    tenant_id: Mapped[int] = mapped_column(Id, primary_key=True)
    record_table: Mapped[str] = mapped_column(String(40), primary_key=True)
    data_source_id: Mapped[int] = mapped_column(Id, primary_key=True)
    first_id: Mapped[int] = mapped_column(Id, primary_key=True)
    rows: Mapped[int] = mapped_column(BigInteger)


class RecordBlocksReach(Base):
    """SQLite: the id up to which ``record_blocks`` counts every row of a record table. Rows above it
    were written without being counted (``store.record_counts``)."""

    __tablename__ = "record_blocks_reach"
    __table_args__ = ({"info": {ONLY_ON: "sqlite"}},)
    record_table: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_id: Mapped[int] = mapped_column(Id)


class WebhookEndpoint(Base):
    """Where a tenant wants to be told of its imports' outcomes (``webhooks``)."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = tenant_fk()
    url: Mapped[str] = mapped_column(String(2000))
    # Event types, or ["*"] for all of them.
    events: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    secret_enc: Mapped[str] = mapped_column(Text)
    # Why headwater turned the endpoint off (it kept failing); cleared when it is turned on again.
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    # Since when every attempt to it failed; null after a success.
    failing_since: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime)


class WebhookEvent(Base):
    """The outbox: an event, written in the transaction of the outcome it tells of."""

    __tablename__ = "webhook_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = tenant_fk()
    # The webhook-id every attempt of every delivery of this event carries.
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    # The exact JSON body that is signed and sent.
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZDateTime)


class WebhookDelivery(Base):
    """One event for one endpoint: pending until delivered or given up."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = tenant_fk()
    endpoint_id: Mapped[int] = mapped_column(
        Id, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(Id, ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True)
    # pending, delivered or failed.
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(TZDateTime)
    # Set while a process sends it; a process that died leaves it to run out, and it is sent again.
    leased_until: Mapped[datetime | None] = mapped_column(TZDateTime)
    # When retries began (creation or a redelivery by hand): they stop a retry window later.
    queued_at: Mapped[datetime] = mapped_column(TZDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime)


class WebhookAttempt(Base):
    """The delivery log: one row per request made."""

    __tablename__ = "webhook_attempts"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = tenant_fk()
    delivery_id: Mapped[int] = mapped_column(
        Id, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(TZDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    # The first KB of the answer.
    response: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


Index("ix_runs_source_started", Run.data_source_id, Run.started_at)
Index("ix_import_files_source_finished", ImportFile.data_source_id, ImportFile.finished_at)
# A source's last run (max id) in one index probe, also for a source whose last run is long past.
Index("ix_runs_source_last", Run.data_source_id, Run.id)
Index("ix_import_errors_file_line", ImportErrorRow.import_file_id, ImportErrorRow.line)
Index("ix_webhook_deliveries_due", WebhookDelivery.state, WebhookDelivery.next_attempt_at)
