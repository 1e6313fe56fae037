"""Writing imported records, inside the caller's transaction (one file, one transaction).

On PostgreSQL a batch is COPied into the record table while no key conflicts, else it first lands in
a temporary staging table (``COPY``) and one ``INSERT ... SELECT ... ON CONFLICT`` moves it into the
record table. On SQLite the batch's rows are the ``VALUES`` of that ``INSERT ... ON CONFLICT`` itself;
only a batch of sales that met existing keys is staged then, to find out what it met. Either way:

- partner sales are never overwritten: a sale whose (source, transactionId, sku) another file already
  imported is skipped; the same sale twice in one file is a ``DuplicateTransaction`` error on the later
  row (within a batch it is found here, across batches of the file through the conflict);
- stock, persons, companies and locations are upserted on their key; within a batch the last row of a
  key wins, so one statement never touches a row twice.

Nothing here commits: the caller's transaction decides. On SQLite a file's batches may commit one by
one (``pending``) while its ledger row says ``importing``: readers skip such rows (``visible``), and a
pending batch never changes a row of another file; what would is reported back, for the caller to
import that file in one transaction instead. On SQLite every batch also counts the rows it adds into
``record_blocks`` (``store.record_counts``), which PostgreSQL's triggers do there.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import anyio
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from asyncpg.exceptions import UniqueViolationError  # type: ignore[import-untyped]
from sqlalchemy import BindParameter, ColumnElement, Table, TextClause, exists, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from headwater.domain import FileState, ProcessorType, RowError
from headwater.errors import FieldProblem, ImportContended, ValidationFailed
from headwater.store import record_counts
from headwater.store.tables import (
    Company,
    ImportFile,
    PartnerSale,
    PartnerStock,
    Person,
    PhysicalLocation,
)

LINE = "line"
_OWNER_COLUMNS = ("tenant_id", "data_source_id", "import_file_id")


@dataclass(frozen=True)
class WriteResult:
    inserted: int  # rows written (upserts count every accepted row, also one a later row replaced)
    skipped: int = 0  # sales another file already imported
    errors: list[RowError] = field(default_factory=list)
    # Pending batches only: rows left alone because another file's row holds their key.
    held_by_others: int = 0


@dataclass(frozen=True)
class _Target:
    table: Table
    keys: tuple[str, ...]  # the conflict key, after data_source_id
    upsert: bool


def _target(table: Any, keys: tuple[str, ...], upsert: bool) -> _Target:
    return _Target(table.__table__, keys, upsert)


_TARGETS: dict[int, _Target] = {
    ProcessorType.PARTNER_SALES: _target(PartnerSale, ("transaction_id", "sku"), upsert=False),
    ProcessorType.PARTNER_STOCK: _target(PartnerStock, ("stock_date", "sku"), upsert=True),
    ProcessorType.PERSON: _target(Person, ("key",), upsert=True),
    ProcessorType.COMPANY: _target(Company, ("key",), upsert=True),
    ProcessorType.PHYSICAL_LOCATION: _target(PhysicalLocation, ("code",), upsert=True),
}


def _target_for(processor_type: int) -> _Target:
    try:
        return _TARGETS[int(processor_type)]
    except KeyError:
        raise ValidationFailed(
            [FieldProblem("processorType", "UnknownProcessorType", f"unknown processorType {processor_type}")]
        ) from None


@dataclass
class FileWrite:
    """What the batches of one file learn as they are written, kept by the caller from batch to batch:
    on PostgreSQL, a file whose COPY met an existing key goes through staging from then on."""

    copy_conflicted: bool = False


@dataclass(frozen=True)
class Owner:
    """Whose rows a batch writes: every record carries its tenant, source and file."""

    tenant_id: int
    source_id: int
    file_id: int

    def params(self) -> dict[str, int]:
        return {"tenant_id": self.tenant_id, "source_id": self.source_id, "file_id": self.file_id}


@dataclass(frozen=True)
class PreparedBatch:
    """A batch made ready to write, away from the event loop (``prepare_batch``): its rows with each
    key once, the repeats as row errors, and what the database is sent (PostgreSQL: the bytes a direct
    COPY sends; SQLite: the INSERTs' parameters)."""

    staged: pa.Table
    columns: list[str]
    rows: int  # the batch's rows, repeats included
    errors: list[RowError]
    copy: memoryview | None = None  # COPY CSV of ``copy_columns`` and the owner columns
    copy_columns: tuple[str, ...] = ()
    sqlite: SqliteValues | None = None  # SQLite: the rows as the INSERTs' parameters


@dataclass(frozen=True)
class SqliteValues:
    """A batch's rows as SQLite is sent them: the values of the ``bound`` columns (those with a value
    in some row), row after row, one tuple per INSERT (as many rows as SQLite takes parameters for)."""

    bound: list[str]
    inserts: list[tuple[Any, ...]]


def prepare_batch(
    processor_type: int, batch_table: pa.Table, owner: Owner | None = None, *, postgres: bool = False
) -> PreparedBatch:
    """The blocking half of ``write_batch``: deduplicate by key and, given the ``owner``, encode what
    the database is sent (PostgreSQL: the COPY payload with the owner's columns; SQLite: the INSERTs'
    parameters). CPU work, mostly in Arrow: run it in a thread, so that the event loop only ships it."""
    target = _target_for(processor_type)
    rows = batch_table.num_rows
    errors: list[RowError] = []
    if rows == 0:
        staged = batch_table
    elif target.upsert:
        staged = _last_row_per_key(batch_table, target.keys)
    else:
        staged, errors = _first_row_per_key(batch_table, target.keys)
    columns = [name for name in staged.schema.names if name in target.table.columns]
    copy = sqlite = None
    copy_columns: tuple[str, ...] = ()
    if owner is not None and staged.num_rows:
        if postgres:
            copy_columns, copy = _copy_payload(staged, columns, owner)
        else:
            sqlite = _sqlite_values(staged, columns)
    return PreparedBatch(staged, columns, rows, errors, copy, copy_columns, sqlite)


async def write_batch(
    session: AsyncSession,
    processor_type: int,
    tenant_id: int,
    source_id: int,
    file_id: int,
    batch_table: pa.Table,
    *,
    pending: bool = False,
    file_write: FileWrite | None = None,
) -> WriteResult:
    """Write one batch of a file's good rows (the processor's record columns plus ``line``).

    ``pending``: the batch commits before the file does (its ledger row says ``importing``), so it
    must not overwrite another file's row; how many rows it left for that reason is ``held_by_others``.
    A sale whose key another file still being imported holds raises ``ImportContended``.
    """
    owner = Owner(tenant_id, source_id, file_id)
    prepared = prepare_batch(processor_type, batch_table)
    return await write_prepared(
        session, processor_type, owner, prepared, pending=pending, file_write=file_write
    )


async def write_prepared(
    session: AsyncSession,
    processor_type: int,
    owner: Owner,
    prepared: PreparedBatch,
    *,
    pending: bool = False,
    file_write: FileWrite | None = None,
) -> WriteResult:
    """Write a batch ``prepare_batch`` made ready; as ``write_batch`` (``file_write``: what earlier
    batches of the same file learned)."""
    target = _target_for(processor_type)
    if prepared.rows == 0:
        return WriteResult(0)
    errors = list(prepared.errors)
    rows, staged, columns = prepared.rows, prepared.staged, prepared.columns
    connection = await session.connection()
    params = owner.params()
    if not pending and await _copy_directly(connection, target, prepared, owner, file_write or FileWrite()):
        return WriteResult(rows if target.upsert else staged.num_rows, 0, errors)
    stage: str | None = None
    if _is_postgres(connection):
        stage = await _stage(connection, target, columns, staged)
        result = await connection.execute(_insert_sql(target, columns, stage, only_own=pending), params)
        written = int(result.rowcount)
    else:
        values = prepared.sqlite or _sqlite_values(staged, columns)
        counting = await record_counts.counting(connection, target.table.name)
        written = await _insert_values(connection, target, columns, values, owner, only_own=pending)
        await record_counts.counted(connection, counting, owner.tenant_id, owner.source_id)
    if target.upsert:
        if pending and written < staged.num_rows:
            return WriteResult(written, held_by_others=staged.num_rows - written)
        return WriteResult(rows)
    inserted = written
    skipped = 0
    if inserted < staged.num_rows:
        if stage is None:  # what the rows met is found by their keys and lines
            stage = await _stage(connection, target, columns, staged, bound=[*target.keys, LINE])
        conflicts = await connection.execute(_conflicts_sql(target, stage), params)
        for line, other_file, other_line, other_state in conflicts.all():
            if other_file == owner.file_id:
                errors.append(_duplicate(line, other_line))
            elif pending and other_state == FileState.IMPORTING:
                # Whether this sale was already imported depends on a file not yet committed.
                raise ImportContended(f"line {line} repeats a sale of file {other_file}, still importing")
            else:
                skipped += 1
    errors.sort(key=lambda error: error.line or 0)
    return WriteResult(inserted, skipped, errors)


def _duplicate(line: int, earlier: int) -> RowError:
    return RowError(
        line,
        "transactionId",
        "DuplicateTransaction",
        f"the same transactionId and sku are already in line {earlier} of this file",
    )


def _first_row_per_key(table: pa.Table, keys: tuple[str, ...]) -> tuple[pa.Table, list[RowError]]:
    """Keep each key's first row; the later ones repeat it."""
    codes, distinct = _key_codes(table, keys)
    if distinct == table.num_rows:
        return table, []
    first = _first_of_each(codes)
    # First occurrences come in code order: the k-th of them is code k's first row.
    first_lines = pc.filter(table[LINE], first)
    repeated = pc.invert(first)
    lines = pc.filter(table[LINE], repeated).to_pylist()
    earlier = pc.take(first_lines, pc.filter(codes, repeated)).to_pylist()
    return table.filter(first), [
        _duplicate(line, line_before) for line, line_before in zip(lines, earlier, strict=True)
    ]


def _last_row_per_key(table: pa.Table, keys: tuple[str, ...]) -> pa.Table:
    codes, distinct = _key_codes(table, keys)
    if distinct == table.num_rows:
        return table
    backwards = pa.array(range(table.num_rows - 1, -1, -1), pa.int64())
    renumbered = pc.dictionary_encode(pc.take(codes, backwards)).indices.cast(pa.int64())
    return table.filter(pc.take(_first_of_each(renumbered), backwards))


def _key_codes(table: pa.Table, keys: tuple[str, ...]) -> tuple[pa.Array, int]:
    """Each row's key as a number, numbered in the order keys first appear, and how many keys there are.

    Arrow's group_by would do, but it loads Arrow's query engine (about 20 MB more per process)."""
    codes: pa.Array | None = None
    distinct = 1
    for key in keys:
        part = pc.dictionary_encode(table[key].combine_chunks(), null_encoding="encode")
        values = part.indices.cast(pa.int64())
        combined = values if codes is None else pc.add(pc.multiply(codes, len(part.dictionary)), values)
        numbered = pc.dictionary_encode(combined)
        codes, distinct = numbered.indices.cast(pa.int64()), len(numbered.dictionary)
        if distinct == len(codes):  # unique already: the other columns cannot make two rows one key
            break
    assert codes is not None, "a record key has at least one column"
    return codes, distinct


def _first_of_each(codes: pa.Array) -> pa.Array:
    """Whether each row is its code's first: codes numbered in order of appearance, a row comes first
    exactly when its code is higher than every code before it."""
    highest_before = pc.cumulative_max(codes).slice(0, len(codes) - 1)
    before = pa.concat_arrays([pa.array([-1], pa.int64()), highest_before])
    return pc.greater(codes, before)


# --- PostgreSQL: COPY straight in while no key conflicts --------------------------------------------


def _is_postgres(connection: AsyncConnection) -> bool:
    return connection.dialect.name == "postgresql"


def _with_owner(table: pa.Table, owner: Owner) -> pa.Table:
    size = table.num_rows
    for name, value in zip(_OWNER_COLUMNS, (owner.tenant_id, owner.source_id, owner.file_id), strict=True):
        table = table.append_column(name, pa.repeat(pa.scalar(value, pa.int64()), size))
    return table


def _copy_payload(staged: pa.Table, columns: list[str], owner: Owner) -> tuple[tuple[str, ...], memoryview]:
    """The columns a direct COPY names and its CSV. A column null in every row of the batch is left
    out: the rows are new, so it is null either way, and the database parses fewer fields."""
    present = tuple(_valued(staged, columns))
    return present, _csv_bytes(_with_owner(staged.select(list(present)), owner))


async def _copy_directly(
    connection: AsyncConnection,
    target: _Target,
    prepared: PreparedBatch,
    owner: Owner,
    file_write: FileWrite,
) -> bool:
    """COPY the batch into the record table itself, the fast way for new rows. When a row meets an
    existing key the COPY is undone (to a savepoint) and False says to go through staging instead;
    a file that met one conflict goes through staging from then on."""
    if not _is_postgres(connection):
        return False
    if file_write.copy_conflicted:
        return False
    columns, payload = prepared.copy_columns, prepared.copy
    if payload is None:  # not prepared for PostgreSQL: encode it here, off the event loop
        columns, payload = await anyio.to_thread.run_sync(
            _copy_payload, prepared.staged, prepared.columns, owner
        )
    await connection.exec_driver_sql("SELECT 1")  # opens the driver's transaction before raw use
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.execute("SAVEPOINT headwater_batch")
    try:
        await driver.copy_to_table(
            target.table.name,
            source=payload,
            columns=[*columns, *_OWNER_COLUMNS],
            format="csv",
        )
    except UniqueViolationError:
        await driver.execute("ROLLBACK TO SAVEPOINT headwater_batch")
        file_write.copy_conflicted = True
        return False
    await driver.execute("RELEASE SAVEPOINT headwater_batch")
    return True


# --- staging -----------------------------------------------------------------------------------------


def _stage_name(target: _Target) -> str:
    return f"headwater_stage_{target.table.name}"


async def _stage(
    connection: AsyncConnection,
    target: _Target,
    columns: list[str],
    table: pa.Table,
    bound: list[str] | None = None,
) -> str:
    """The batch in the staging table, whose columns are ``columns``; SQLite: of those, the ``bound``
    ones (by default, those with a value in some row), the others null."""
    name = _stage_name(target)
    definitions = ", ".join(
        f"{column} {target.table.columns[column].type.compile(dialect=connection.dialect)}"
        for column in columns
    )
    if _is_postgres(connection):
        # Through SQLAlchemy first, so the driver's transaction is open before the raw COPY.
        await connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ({definitions}) ON COMMIT DROP"
        )
        await connection.exec_driver_sql(f"TRUNCATE {name}")
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        payload = await anyio.to_thread.run_sync(_csv_bytes, table.select(columns))
        await driver.copy_to_table(name, source=payload, columns=columns, format="csv")
    else:
        await connection.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ({definitions})")
        await connection.exec_driver_sql(f"DELETE FROM {name}")
        bound = _valued(table, columns) if bound is None else bound
        placeholders = ", ".join("?" for _ in bound)
        await connection.exec_driver_sql(
            f"INSERT INTO {name} ({', '.join(bound)}) VALUES ({placeholders})",
            list(zip(*_python_columns(table.select(bound)), strict=True)),
        )
    return name


def _csv_bytes(table: pa.Table) -> memoryview:
    """CSV as PostgreSQL's COPY reads it: strings quoted (so an empty string stays one), nulls bare.
    Handed to the driver as a buffer: no executor thread reads a file object."""
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(
        table, sink, pa_csv.WriteOptions(include_header=False, quoting_style="needed", batch_size=8192)
    )
    return memoryview(sink.getvalue())


def _python_columns(table: pa.Table) -> list[list[Any]]:
    columns = []
    for column in table.columns:
        if pa.types.is_date(column.type):
            column = pc.cast(column, pa.string())  # SQLite keeps dates as ISO text
        columns.append(column.to_pylist())
    return columns


def _on_conflict(target: _Target, columns: list[str] | tuple[str, ...], *, own_file: str | None) -> str:
    """The INSERT's conflict clause; ``own_file``: the parameter of the file whose rows alone an upsert
    may replace (a pending batch's), else None."""
    conflict = ", ".join(("data_source_id", *target.keys))
    if not target.upsert:
        return f"ON CONFLICT ({conflict}) DO NOTHING"
    updates = ", ".join(
        f"{column} = excluded.{column}"
        for column in (*columns, "import_file_id")
        if column not in target.keys
    )
    action = f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    if own_file is not None:
        action += f" WHERE {target.table.name}.import_file_id = {own_file}"
    return action


def _insert_sql(target: _Target, columns: list[str], stage: str, *, only_own: bool = False) -> TextClause:
    names = ", ".join(columns)
    # "WHERE true" keeps SQLite from reading ON CONFLICT as a join condition.
    return text(
        f"INSERT INTO {target.table.name} ({names}, {', '.join(_OWNER_COLUMNS)}) "
        f"SELECT {names}, :tenant_id, :source_id, :file_id FROM {stage} WHERE true "
        f"{_on_conflict(target, columns, own_file=':file_id' if only_own else None)}"
    )


# --- SQLite: the rows as the INSERT's VALUES ---------------------------------------------------------

# Rows per INSERT at most (fewer when SQLite's parameter limit says so): a pending batch's rows go in
# one statement, whose text SQLite prepares once per size and then finds in the connection's cache.
_ROWS_PER_INSERT = 2_000


@cache
def _sqlite_parameter_limit() -> int:
    """The most parameters one statement may have, as the SQLite library Python uses was built (32,766
    by default since 3.32, 999 before; distributions raise it)."""
    with closing(sqlite3.connect(":memory:")) as connection:
        return connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def _rows_per_insert(width: int) -> int:
    # Four parameters of every INSERT are the owner's (and the file's once more for a pending upsert).
    return max(1, min(_ROWS_PER_INSERT, (_sqlite_parameter_limit() - 4) // width))


def _valued(table: pa.Table, columns: list[str]) -> list[str]:
    """The columns with a value in some row: the others are left out of what the database is sent, and
    are null. Python's sqlite3 binds a None through its adapter lookup, not its fast path: the optional
    columns a file leaves empty made up most of the binding of a partner sales batch (six of fifteen
    columns cost 2.5 s of CPU in a million-row file). ``line`` always has a value."""
    return [name for name in columns if table[name].null_count < table.num_rows]


def _sqlite_values(table: pa.Table, columns: list[str]) -> SqliteValues:
    """The rows of ``columns`` flat, without a tuple per row: each column's values are laid into
    every ``width``-th place of one list, which is then cut into the INSERTs' parameters."""
    bound = _valued(table, columns)
    width = len(bound)
    flat: list[Any] = [None] * (width * table.num_rows)
    for place, values in enumerate(_python_columns(table.select(bound))):
        flat[place::width] = values
    step = _rows_per_insert(width) * width
    return SqliteValues(bound, [tuple(flat[start : start + step]) for start in range(0, len(flat), step)])


@lru_cache(maxsize=64)
def _values_insert_sql(
    target: _Target, columns: tuple[str, ...], bound: tuple[str, ...], rows: int, only_own: bool
) -> str:
    """INSERT ``rows`` rows given as parameters: the owner's three, then each row's ``bound`` values
    (the other ``columns`` are null), then, for a pending upsert, the file's once more."""
    picked = iter(range(1, len(bound) + 1))
    values = ", ".join(f"column{next(picked)}" if column in bound else "NULL" for column in columns)
    row = f"({', '.join('?' for _ in bound)})"
    # "WHERE true" keeps SQLite from reading ON CONFLICT as a join condition.
    return (
        f"INSERT INTO {target.table.name} ({', '.join(columns)}, {', '.join(_OWNER_COLUMNS)}) "
        f"SELECT {values}, ?, ?, ? FROM (VALUES {', '.join([row] * rows)}) WHERE true "
        f"{_on_conflict(target, columns, own_file='?' if only_own else None)}"
    )


async def _insert_values(
    connection: AsyncConnection,
    target: _Target,
    columns: list[str],
    values: SqliteValues,
    owner: Owner,
    *,
    only_own: bool,
) -> int:
    """Write the batch's rows straight into the record table; how many rows were written."""
    width = len(values.bound)
    owned = (owner.tenant_id, owner.source_id, owner.file_id)
    own_file = (owner.file_id,) if only_own and target.upsert else ()
    written = 0
    for inserted in values.inserts:
        sql = _values_insert_sql(
            target, tuple(columns), tuple(values.bound), len(inserted) // width, only_own and target.upsert
        )
        result = await connection.exec_driver_sql(sql, owned + inserted + own_file)
        written += int(result.rowcount)
    return written


def _conflicts_sql(target: _Target, stage: str) -> TextClause:
    """The staged rows that met an existing row: (line, that row's file, that row's line, that file's
    ledger state)."""
    matches = " AND ".join(f"r.{key} = s.{key}" for key in target.keys)
    return text(
        f"SELECT s.line, r.import_file_id, r.line, f.state FROM {stage} s JOIN {target.table.name} r "
        f"ON r.tenant_id = :tenant_id AND r.data_source_id = :source_id AND {matches} "
        f"LEFT JOIN {ImportFile.__tablename__} f ON f.id = r.import_file_id "
        f"WHERE NOT (r.import_file_id = :file_id AND r.line = s.line)"
    )


# --- other operations --------------------------------------------------------------------------------


async def delete_file_records(session: AsyncSession, tenant_id: int, file_id: int) -> int:
    """Remove what an earlier import of this file wrote (before importing its new content).

    Every record table is cleared, not only the current processor's: the source's processor type may
    have changed since the file was last imported.
    """
    return await _delete_everywhere(session, tenant_id, "import_file_id", file_id)


async def delete_some_file_records(session: AsyncSession, tenant_id: int, file_id: int, limit: int) -> int:
    """Remove up to ``limit`` rows of each record table that the file wrote: a file's pending rows are
    discarded a short transaction at a time."""
    removed = 0
    for target in _TARGETS.values():
        table = target.table
        some = (
            select(table.c.id)
            .where(table.c.tenant_id == tenant_id, table.c.import_file_id == file_id)
            .limit(limit)
            .scalar_subquery()
        )
        # With the tenant, PostgreSQL finds the ids in its (tenant_id, id) index.
        result = await session.execute(
            table.delete().where(table.c.tenant_id == tenant_id, table.c.id.in_(some))
        )
        removed += int(result.rowcount)  # type: ignore[attr-defined]
    return removed


# Until a table has statistics, PostgreSQL plans it as nearly empty: a fresh table that one file has just
# filled pages by nested loops over every row (a page of 1,000 out of 5,000 took 14 s). Autovacuum
# gathers them only when it next passes, about a minute later, and only after 10% of a table changed.
_ANALYZE_FROM_ROWS = 10_000
_ANALYZE_FROM_SHARE = 0.1
_ANALYZE_LOCK_TIMEOUT = "200ms"


async def refresh_statistics(engine: AsyncEngine, processor_type: int, added: int) -> bool:
    """PostgreSQL: ANALYZE the record table a file just added ``added`` rows to, when they are at least
    10,000 and a tenth of what the table was estimated to hold; whether it did. A smaller file takes no
    connection. A table another session is analyzing or altering is left to it (a short lock timeout),
    so nothing ever waits here."""
    if added < _ANALYZE_FROM_ROWS:
        return False
    table = _target_for(processor_type).table.name
    async with engine.begin() as connection:
        estimated = await connection.scalar(
            text("SELECT reltuples FROM pg_class WHERE oid = CAST(:table AS regclass)"), {"table": table}
        )
        if estimated is not None and added < _ANALYZE_FROM_SHARE * float(estimated):
            return False
        await connection.execute(text(f"SET LOCAL lock_timeout = '{_ANALYZE_LOCK_TIMEOUT}'"))
        await connection.execute(text(f'ANALYZE "{table}"'))
    return True


async def has_file_records(session: AsyncSession, tenant_id: int, file_id: int) -> bool:
    for target in _TARGETS.values():
        table = target.table
        query = select(exists().where(table.c.tenant_id == tenant_id, table.c.import_file_id == file_id))
        if await session.scalar(query):
            return True
    return False


def visible(table: Table, tenant_id: int | BindParameter[int]) -> ColumnElement[bool]:
    """Rows of files whose import has committed: a file still importing keeps its rows to itself."""
    importing = select(ImportFile.id).where(
        ImportFile.tenant_id == tenant_id, ImportFile.state == FileState.IMPORTING
    )
    return table.c.import_file_id.not_in(importing)


async def delete_source_records(session: AsyncSession, tenant_id: int, source_id: int) -> int:
    """Remove every record a source imported (record tables carry no foreign keys; see ``tables``)."""
    return await _delete_everywhere(session, tenant_id, "data_source_id", source_id)


async def _delete_everywhere(session: AsyncSession, tenant_id: int, column: str, value: int) -> int:
    removed = 0
    for target in _TARGETS.values():
        table = target.table
        result = await session.execute(
            table.delete().where(table.c.tenant_id == tenant_id, table.c[column] == value)
        )
        removed += int(result.rowcount)  # type: ignore[attr-defined]
    return removed


async def count_records(
    session: AsyncSession,
    tenant_id: int,
    processor_type: int,
    *,
    source_id: int | None = None,
    file_id: int | None = None,
) -> int:
    table = _target_for(processor_type).table
    query = select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id)
    if source_id is not None:
        query = query.where(table.c.data_source_id == source_id)
    if file_id is not None:
        query = query.where(table.c.import_file_id == file_id)
    return int((await session.execute(query)).scalar_one())
