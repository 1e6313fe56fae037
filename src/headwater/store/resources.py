"""One query builder for every resource the integration API lists: tenant-scoped, filtered, paged.

Conditions arrive already checked and typed (``headwater.resources`` parses them); this module turns
them into SQL. Rows come back in id order, so that paging with an offset through a table that only
grows never repeats or skips a row.

A page is found first by its ids alone, then read: the rows an offset passes over are counted in the
``(tenant_id, id)`` index of a record table (PostgreSQL reads nothing else for them), never read whole.
SQLite has no such index, so there a page without an offset is read in one query (``fetch_page_values``).
An offset into one tenant's or one source's records does not count the rows before it either:
``record_blocks`` says how many rows each block of ids holds, so only the rows of the block the page
starts in are counted (``_offset_start``). On SQLite the counts are kept by ``record_counts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Select,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.schema import Column, Table
from sqlalchemy.sql.sqltypes import NullType

from headwater.store import record_counts
from headwater.store.records import visible
from headwater.store.tables import RECORD_TABLES, Base, RecordBlock

Operator = Literal["eq", "match", "ge", "le", "lt"]
_LIKE_ESCAPE = "\\"


@dataclass(frozen=True)
class Condition:
    column: str
    operator: Operator
    value: Any


def like_pattern(wildcards: str) -> str:
    """``*`` matches any run of characters; ``%``, ``_`` and the escape itself match only themselves."""
    escaped = (
        wildcards.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )
    return escaped.replace("*", "%")


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


# A query's shape: the column and operator of each condition, in order. Statements are built once per
# shape, with bind parameters for the tenant, the values and the page, and then only executed: building
# one costs as much as running it. The caches are bounded, since a caller chooses its conditions.
Shape = tuple[tuple[str, Operator], ...]
_STATEMENTS_PER_KIND = 256
_TENANT: BindParameter[int] = bindparam("tenant_id")  # typed by each column it is compared with
_FIRST_ROW = bindparam("first_row", type_=BigInteger)  # an offset may pass 2**31
_MAX_ROWS = bindparam("max_rows", type_=BigInteger)


def _shape(conditions: Sequence[Condition]) -> Shape:
    return tuple((condition.column, condition.operator) for condition in conditions)


def _parameters(tenant_id: int, conditions: Sequence[Condition], **more: int) -> dict[str, Any]:
    values = {
        f"value_{n}": like_pattern(str(condition.value)) if condition.operator == "match" else condition.value
        for n, condition in enumerate(conditions)
    }
    return {"tenant_id": tenant_id, **values, **more}


def _clause(column: Column[Any], operator: Operator, value: BindParameter[Any]) -> ColumnElement[bool]:
    clause: ColumnElement[bool]
    match operator:
        case "eq":
            clause = column == value
        case "match":
            # Case-insensitive on both databases (SQLite's LIKE already is, PostgreSQL's is not).
            clause = column.ilike(value, escape=_LIKE_ESCAPE)
        case "ge":
            clause = column >= value
        case "le":
            clause = column <= value
        case "lt":
            clause = column < value
    return clause


def _filtered(query: Select[Any], table: Table, shape: Shape) -> Select[Any]:
    query = query.where(table.c.tenant_id == _TENANT)
    if "import_file_id" in table.c:  # records and row errors of a file still importing stay hidden
        query = query.where(visible(table, _TENANT))
    for n, (column, operator) in enumerate(shape):
        query = query.where(_clause(table.c[column], operator, bindparam(f"value_{n}")))
    return query


@lru_cache(maxsize=_STATEMENTS_PER_KIND)
def _one_row(model: type[Base]) -> Select[Any]:
    return _filtered(select(model), _table(model), (("id", "eq"),))


async def fetch_one(session: AsyncSession, tenant_id: int, model: type[Base], row_id: int) -> Any | None:
    return await session.scalar(_one_row(model), _parameters(tenant_id, [Condition("id", "eq", row_id)]))


# The pages whose offset ``record_blocks`` can count: a tenant's records, or one source's.
_BLOCK_COUNTED_SHAPES: frozenset[Shape] = frozenset({(), (("data_source_id", "eq"),)})


# Whose block counts a page by offset starts from: the database's name, None when it counts every row.
Counted = Literal["postgresql", "sqlite"] | None


def _counted(session: AsyncSession, table: Table, shape: Shape, first_row: int) -> Counted:
    if first_row > 0 and table.name in RECORD_TABLES and shape in _BLOCK_COUNTED_SHAPES:
        return "sqlite" if session.get_bind().dialect.name == "sqlite" else "postgresql"
    return None


def _offset_start(table: Table, shape: Shape, *, sqlite: bool) -> Any:
    """The last block whose rows before it are no more than the offset: its first id, and how many rows
    come before it (one row, none when the offset falls in the first block). Summed from the
    tenant's or the source's few block counts in the snapshot of the page's own query.

    On SQLite a block is a start only if no block before it may be short or hold rows the page does
    not show (``record_counts.trusted_below``); from there the page counts rows one by one."""
    blocks = _table(RecordBlock)
    counted = select(blocks.c.first_id, cast(func.sum(blocks.c.rows), BigInteger).label("rows")).where(
        blocks.c.tenant_id == _TENANT, blocks.c.record_table == table.name
    )
    if shape:  # one source's rows: the bind parameter of the page's own condition
        counted = counted.where(blocks.c.data_source_id == bindparam("value_0"))
    per_block = counted.group_by(blocks.c.first_id).subquery("per_block")
    rows_up_to = cast(func.sum(per_block.c.rows).over(order_by=per_block.c.first_id), BigInteger)
    running = select(per_block.c.first_id, (rows_up_to - per_block.c.rows).label("rows_before")).subquery(
        "running"
    )
    start = select(running.c.first_id, running.c.rows_before).where(running.c.rows_before <= _FIRST_ROW)
    if sqlite:
        start = start.where(running.c.first_id <= record_counts.trusted_below(table, _TENANT))
    return start.order_by(running.c.first_id.desc()).limit(1).cte("offset_start")


def _page(query: Select[Any], table: Table, shape: Shape, counted: Counted = None) -> Select[Any]:
    """The rows of one page: found by their ids alone first, since an offset then counts index entries,
    not rows; with ``counted``, only those of the block the page starts in (``_offset_start``).

    Rows a file still importing holds are in the counts but not in the page: on PostgreSQL a file's rows
    commit with its ledger row leaving ``importing``, so no such rows are ever seen; on SQLite the
    blocks from the first of them on are not trusted."""
    ids = _filtered(select(table.c.id), table, shape)
    offset: Any = _FIRST_ROW
    if counted is not None:
        start = _offset_start(table, shape, sqlite=counted == "sqlite")
        ids = ids.where(table.c.id >= func.coalesce(select(start.c.first_id).scalar_subquery(), 0))
        offset = _FIRST_ROW - func.coalesce(select(start.c.rows_before).scalar_subquery(), 0)
    ids = ids.order_by(table.c.id).offset(offset).limit(_MAX_ROWS)
    return query.where(table.c.tenant_id == _TENANT, table.c.id.in_(ids))


@lru_cache(maxsize=_STATEMENTS_PER_KIND)
def _page_of_rows(model: type[Base], shape: Shape, columns_only: bool, counted: Counted) -> Select[Any]:
    table = _table(model)
    return _page(select(table if columns_only else model), table, shape, counted).order_by(table.c.id)


async def fetch_page(
    session: AsyncSession,
    tenant_id: int,
    model: type[Base],
    conditions: Sequence[Condition],
    *,
    first_row: int,
    max_rows: int,
    columns_only: bool = False,
) -> Sequence[Any]:
    """One page of rows in id order: ORM objects or, with ``columns_only``, plain rows in the table's
    column order (several times faster to load and to read)."""
    shape = _shape(conditions)
    counted = _counted(session, _table(model), shape, first_row)
    query = _page_of_rows(model, shape, columns_only, counted)
    parameters = _parameters(tenant_id, conditions, first_row=first_row, max_rows=max_rows)
    if not columns_only:
        return (await session.scalars(query, parameters)).all()
    return await _plain_rows(session, query, parameters)


async def _plain_rows(session: AsyncSession, query: Select[Any], parameters: dict[str, Any]) -> Sequence[Any]:
    # Plain rows need nothing of the ORM: its execute costs as much again as the connection's.
    connection = await session.connection()
    rows: Sequence[Any] = (await connection.execute(query, parameters)).all()
    return rows


@lru_cache(maxsize=_STATEMENTS_PER_KIND)
def _page_of_values(
    table: Table,
    shape: Shape,
    columns: tuple[str, ...],
    as_stored: frozenset[str],
    ids_first: bool,
    counted: Counted,
) -> Select[Any]:
    selected = select(
        *(
            type_coerce(table.c[column], NullType()).label(column) if column in as_stored else table.c[column]
            for column in columns
        )
    )
    if ids_first:
        return _page(selected, table, shape, counted).order_by(table.c.id)
    return _filtered(selected, table, shape).order_by(table.c.id).offset(_FIRST_ROW).limit(_MAX_ROWS)


async def fetch_page_values(
    session: AsyncSession,
    tenant_id: int,
    model: type[Base],
    conditions: Sequence[Condition],
    *,
    first_row: int,
    max_rows: int,
    columns: tuple[str, ...],
    as_stored: frozenset[str] = frozenset(),
) -> Sequence[Any]:
    """One page in id order as rows of ``columns``, in that order. The columns in ``as_stored`` come as
    the driver reads them, without their type's conversion, for a caller that has a faster one."""
    # SQLite keeps no index of a record table's ids by tenant to count an offset in: without an offset,
    # finding the ids first only reads the page's rows twice.
    ids_first = first_row > 0 or session.get_bind().dialect.name != "sqlite"
    table, shape = _table(model), _shape(conditions)
    counted = _counted(session, table, shape, first_row)
    query = _page_of_values(table, shape, columns, as_stored, ids_first, counted)
    parameters = _parameters(tenant_id, conditions, first_row=first_row, max_rows=max_rows)
    return await _plain_rows(session, query, parameters)


@dataclass(frozen=True)
class JsonField:
    """A column the database writes into a row's JSON itself: its name there, and for a number column
    which kind, since a number's text is already JSON (a ``"decimal"`` is a NUMERIC whose trailing zeros
    go: ``9.500000`` is written ``9.5``, ``3.000000`` is ``3``)."""

    name: str
    column: str
    number: Literal["integer", "decimal"] | None = None


def _text(sql: str) -> ColumnElement[str]:
    return literal_column(sql, Text)


def _member(field: JsonField, value: ColumnElement[Any]) -> ColumnElement[str]:
    """``"name":value`` as JSON text, or NULL where the value is NULL."""
    assert field.name.isidentifier(), field.name  # written into the SQL as a literal
    if field.number == "decimal":
        value = func.trim_scale(value)
    written = cast(value if field.number is not None else func.to_json(value), Text)
    return _text(f"'\"{field.name}\":'") + written


def _extra_members(extras: ColumnElement[Any], taken: Sequence[str]) -> ColumnElement[str]:
    """The members of a JSON object column that are not null and not named in ``taken``, in their
    stored order, as JSON text ("description1":"...",...); NULL where there are none. Strings are
    written again by ``to_json``, so that non-ASCII characters come out as themselves, as in every
    other answer, however the column stored them."""
    each = (
        func.json_each(extras)
        .table_valued("key", "value", with_ordinality="position")
        .render_derived(name="extra")
    )
    value = case(
        (
            func.json_typeof(each.c.value) == "string",
            cast(func.to_json(each.c.value.op("#>>")(_text("'{}'"))), Text),
        ),
        else_=cast(each.c.value, Text),
    )
    members = (
        select(
            func.string_agg(
                cast(func.to_json(each.c.key), Text) + _text("':'") + value,
                aggregate_order_by(_text("','"), each.c.position),
            )
        )
        .where(func.json_typeof(each.c.value) != "null", each.c.key.not_in(taken))
        .scalar_subquery()
    )
    return case((func.json_typeof(extras) == "object", members), else_=None)


@lru_cache(maxsize=_STATEMENTS_PER_KIND)
def _page_as_json(
    table: Table, shape: Shape, fields: tuple[JsonField, ...], extras_column: str | None, counted: Counted
) -> Select[Any]:
    """One page as one JSON array, written whole by the database: each row an object with the fields
    in the order given, null ones left out, then the members of ``extras_column`` (an object) that
    are not fields. Built by concatenation, which PostgreSQL does in half the time of
    ``json_build_object`` with ``json_strip_nulls``."""
    page = _page(select(table), table, shape, counted).subquery("page")
    members = [_member(field, page.c[field.column]) for field in fields]
    if extras_column is not None:
        members.append(_extra_members(page.c[extras_column], [field.name for field in fields]))
    row = _text("'{'") + func.concat_ws(",", *members) + _text("'}'")  # concat_ws skips NULLs
    rows = func.string_agg(row, aggregate_order_by(_text("','"), page.c.id))
    return select(_text("'['") + func.coalesce(rows, "") + _text("']'"))


async def fetch_page_json(
    session: AsyncSession,
    tenant_id: int,
    model: type[Base],
    conditions: Sequence[Condition],
    *,
    first_row: int,
    max_rows: int,
    fields: Sequence[JsonField],
    extras_column: str | None = None,
) -> str:
    """PostgreSQL only: one page in id order as one JSON array, written whole by the database (see
    ``_page_as_json``). One text instead of a row per record is what makes a page cheap to serve: the
    driver and the ORM handle one value, not a thousand."""
    table, shape = _table(model), _shape(conditions)
    counted = _counted(session, table, shape, first_row)
    query = _page_as_json(table, shape, tuple(fields), extras_column, counted)
    parameters = _parameters(tenant_id, conditions, first_row=first_row, max_rows=max_rows)
    connection = await session.connection()  # one text, no ORM objects: see ``fetch_page``
    written: str = (await connection.execute(query, parameters)).scalar_one()
    return written
