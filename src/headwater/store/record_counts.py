"""Rows per block of ids on SQLite (``record_blocks``), kept by the writer of the rows itself.

PostgreSQL keeps the counts with statement triggers (migration ``0010_record_blocks``). SQLite has
row triggers only, and one on insert cost an import 20-78% more, so there (migration
``0011_sqlite_record_blocks``):

- the rows a write adds are counted by that write (``counting``). While SQLite's one writer is held,
  each row added takes the id just above the table's largest, so the largest ids before and after
  the write say how many rows each block gained, without reading one of them. Every batch of records
  headwater writes goes through ``store.records.write_prepared``, which counts them;
- the rows removed are counted by a row trigger on delete, whoever removes them;
- ``record_blocks_reach`` holds, per record table, the id up to which the counts hold every row.
  Rows written some other way lie above it: a page counts them row by row, and the next counted
  write of that table counts them into their blocks. When the newest rows are deleted, the trigger
  lowers the reach to the largest id left, since SQLite gives those ids out again.

A page trusts only the blocks below the reach and below the first row of a file still importing,
whose rows are committed piece by piece before they are visible (``trusted_below``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.domain import FileState
from headwater.store.tables import ImportFile, RecordBlocksReach

BLOCK_BITS = 14  # a block is 16,384 ids, as on PostgreSQL
BLOCK = 1 << BLOCK_BITS


@dataclass(frozen=True)
class Counting:
    """What a counted write learned before writing: the table's largest id and the counts' reach."""

    table: str
    before: int
    reach: int


def blocks_of(first: int, last: int) -> list[tuple[int, int]]:
    """The ids ``first..last`` as (first id of a block, how many of them it holds), block by block."""
    blocks = []
    start = first
    while start <= last:
        block = start >> BLOCK_BITS << BLOCK_BITS
        end = min(last, block + BLOCK - 1)
        blocks.append((block, end - start + 1))
        start = end + 1
    return blocks


async def counting(connection: AsyncConnection, table: str) -> Counting | None:
    """Begin a counted write of ``table``'s records: None on a store that keeps no counts here
    (PostgreSQL, whose triggers count).

    The statement writes, so that SQLite's writer is held before the largest id is read and no other
    writer can add rows between this and the write's own. The statements are sent as they are, each
    in one round trip: a file of 1,000,000 rows makes a hundred counted writes."""
    if connection.dialect.name != "sqlite":
        return None
    found = await connection.exec_driver_sql(
        "UPDATE record_blocks_reach SET last_id = last_id WHERE record_table = ?"
        f" RETURNING last_id, (SELECT coalesce(max(id), 0) FROM {table})",
        (table,),
    )
    row = found.one_or_none()
    if row is None:
        return None
    reach, before = tuple(row)
    return Counting(table, before=int(before), reach=int(reach))


async def counted(
    connection: AsyncConnection, counting: Counting | None, tenant_id: int, source_id: int
) -> None:
    """End a counted write: the rows it added (all of ``source_id``'s) go into their blocks, and so
    do any rows written since the last counted write without being counted."""
    if counting is None:
        return
    table = counting.table
    moved = await connection.exec_driver_sql(
        f"UPDATE record_blocks_reach SET last_id = (SELECT coalesce(max(id), 0) FROM {table})"
        " WHERE record_table = ? RETURNING last_id",
        (table,),
    )
    after = int(moved.scalar_one())
    if counting.before > counting.reach:
        await _count_rows(connection, table, counting.reach, counting.before)
    blocks = blocks_of(counting.before + 1, after)
    if blocks:
        values = ", ".join(["(?, ?, ?, ?, ?)"] * len(blocks))
        owned = (tenant_id, table, source_id)
        await connection.exec_driver_sql(
            "INSERT INTO record_blocks (tenant_id, record_table, data_source_id, first_id, rows) "
            f"VALUES {values} {_ADDED}",
            tuple(value for block, rows in blocks for value in (*owned, block, rows)),
        )


async def catch_up(connection: AsyncConnection, table: str) -> None:
    """Count the rows written without being counted (by hand, or by a bulk load), now rather than at
    the table's next import."""
    await counted(connection, await counting(connection, table), 0, 0)


_ADDED = "ON CONFLICT (tenant_id, record_table, data_source_id, first_id) DO UPDATE SET rows = rows + excluded.rows"


async def _count_rows(connection: AsyncConnection, table: str, above: int, up_to: int) -> None:
    block = f"(id >> {BLOCK_BITS}) << {BLOCK_BITS}"
    await connection.exec_driver_sql(
        "INSERT INTO record_blocks (tenant_id, record_table, data_source_id, first_id, rows) "
        f"SELECT tenant_id, ?, data_source_id, {block}, count(*) FROM {table} WHERE id > ? AND id <= ? "
        f"GROUP BY tenant_id, data_source_id, {block} {_ADDED}",
        (table, above, up_to),
    )


def trusted_below(table: Table, tenant_id: BindParameter[int] | int) -> ColumnElement[Any]:
    """SQL: the first id from which the tenant's counts in ``table`` may be short or may hold rows a
    page does not show: the first uncounted id, or the first row of a file the tenant is still
    importing, whichever comes first."""
    reach = select(RecordBlocksReach.last_id).where(RecordBlocksReach.record_table == table.name)
    importing = select(ImportFile.id).where(
        ImportFile.tenant_id == tenant_id, ImportFile.state == FileState.IMPORTING
    )
    first_importing = select(func.min(table.c.id)).where(table.c.import_file_id.in_(importing))
    uncounted = func.coalesce(reach.scalar_subquery(), 0) + 1
    # SQLite's min() of two arguments is the smaller one; with no file importing, the first uncounted id.
    return func.min(uncounted, func.coalesce(first_importing.scalar_subquery(), uncounted))
