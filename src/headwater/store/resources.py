"""One query builder for every resource the integration API lists: tenant-scoped, filtered, paged.

Conditions arrive already checked and typed (``headwater.resources`` parses them); this module turns
them into SQL. Rows come back in id order, so that paging with an offset through a table that only
grows never repeats or skips a row.

A page is found first by its ids alone, then read: the rows an offset passes over are counted in the
``(tenant_id, id)`` index of a record table (PostgreSQL reads nothing else for them), never read whole.
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
    Subquery,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.schema import Column, Table

from headwater.store.records import visible
from headwater.store.tables import Base

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


def _page(query: Select[Any], table: Table, shape: Shape) -> Select[Any]:
    """The rows of one page: found by their ids alone first, since an offset then counts index entries,
    not rows."""
    ids = _filtered(select(table.c.id), table, shape).order_by(table.c.id).offset(_FIRST_ROW).limit(_MAX_ROWS)
    return query.where(table.c.tenant_id == _TENANT, table.c.id.in_(ids))


@lru_cache(maxsize=_STATEMENTS_PER_KIND)
def _page_of_rows(model: type[Base], shape: Shape, columns_only: bool) -> Select[Any]:
    table = _table(model)
    return _page(select(table if columns_only else model), table, shape).order_by(table.c.id)


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
    query = _page_of_rows(model, _shape(conditions), columns_only)
    parameters = _parameters(tenant_id, conditions, first_row=first_row, max_rows=max_rows)
    rows: Sequence[Any] = (
        (await session.execute(query, parameters)).all()
        if columns_only
        else (await session.scalars(query, parameters)).all()
    )
    return rows


@dataclass(frozen=True)
class JsonField:
    """A column the database writes into a row's JSON itself: its name there, and whether it is a
    NUMERIC whose trailing zeros go (``9.500000`` is written ``9.5``, ``3.000000`` is ``3``)."""

    name: str
    column: str
    numeric: bool = False


def _rows_as_json(
    table: Table, shape: Shape, fields: tuple[JsonField, ...]
) -> tuple[Subquery, ColumnElement[str]]:
    """One page as a subquery, and each of its rows as JSON text written by the database (fields in
    the order given, null ones left out)."""
    page = _page(select(table), table, shape).subquery("page")
    pairs: list[Any] = []
    for field in fields:
        assert field.name.isidentifier(), field.name  # written into the SQL as a literal
        value = page.c[field.column]
        pairs += [literal_column(f"'{field.name}'"), func.trim_scale(value) if field.numeric else value]
    # As text: the driver would otherwise parse each row's JSON only for it to be written again.
    return page, cast(func.json_strip_nulls(func.json_build_object(*pairs)), Text)


@lru_cache(maxsize=_STATEMENTS_PER_KIND)
def _page_as_json_rows(
    table: Table, shape: Shape, fields: tuple[JsonField, ...], extras_column: str
) -> Select[Any]:
    page, row_json = _rows_as_json(table, shape, fields)
    return select(row_json, page.c[extras_column]).order_by(page.c.id)


@lru_cache(maxsize=_STATEMENTS_PER_KIND)
def _page_as_json_array(table: Table, shape: Shape, fields: tuple[JsonField, ...]) -> Select[Any]:
    page, row_json = _rows_as_json(table, shape, fields)
    joined = func.string_agg(row_json, aggregate_order_by(literal_column("','"), page.c.id))
    return select(func.coalesce(joined, ""))


async def fetch_page_json(
    session: AsyncSession,
    tenant_id: int,
    model: type[Base],
    conditions: Sequence[Condition],
    *,
    first_row: int,
    max_rows: int,
    fields: Sequence[JsonField],
    extras_column: str,
) -> Sequence[Any]:
    """PostgreSQL only: one page in id order, each row as ``(json text, extras)``, ``extras`` the
    ``extras_column``'s value, for rows that are finished in Python."""
    query = _page_as_json_rows(_table(model), _shape(conditions), tuple(fields), extras_column)
    parameters = _parameters(tenant_id, conditions, first_row=first_row, max_rows=max_rows)
    rows: Sequence[Any] = (await session.execute(query, parameters)).all()
    return rows


async def fetch_page_json_array(
    session: AsyncSession,
    tenant_id: int,
    model: type[Base],
    conditions: Sequence[Condition],
    *,
    first_row: int,
    max_rows: int,
    fields: Sequence[JsonField],
) -> str:
    """PostgreSQL only: one page in id order as one JSON array, written whole by the database. One text
    instead of a row per record is what makes a page cheap to serve: the driver and the ORM handle one
    value, not a thousand."""
    query = _page_as_json_array(_table(model), _shape(conditions), tuple(fields))
    parameters = _parameters(tenant_id, conditions, first_row=first_row, max_rows=max_rows)
    written = (await session.execute(query, parameters)).scalar_one()
    return f"[{written}]"
