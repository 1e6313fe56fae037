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
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, Text, cast, func, literal_column, select
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


def _clause(column: Column[Any], condition: Condition) -> ColumnElement[bool]:
    clause: ColumnElement[bool]
    match condition.operator:
        case "eq":
            clause = column == condition.value
        case "match":
            # Case-insensitive on both databases (SQLite's LIKE already is, PostgreSQL's is not).
            clause = column.ilike(like_pattern(str(condition.value)), escape=_LIKE_ESCAPE)
        case "ge":
            clause = column >= condition.value
        case "le":
            clause = column <= condition.value
        case "lt":
            clause = column < condition.value
    return clause


def _scoped(
    model: type[Base], tenant_id: int, conditions: Sequence[Condition], *, columns_only: bool = False
) -> Select[Any]:
    table = _table(model)
    return _filtered(select(table if columns_only else model), table, tenant_id, conditions)


def _filtered(
    query: Select[Any], table: Table, tenant_id: int, conditions: Sequence[Condition]
) -> Select[Any]:
    query = query.where(table.c.tenant_id == tenant_id)
    if "import_file_id" in table.c:  # records and row errors of a file still importing stay hidden
        query = query.where(visible(table, tenant_id))
    for condition in conditions:
        query = query.where(_clause(table.c[condition.column], condition))
    return query


async def fetch_one(session: AsyncSession, tenant_id: int, model: type[Base], row_id: int) -> Any | None:
    return await session.scalar(_scoped(model, tenant_id, [Condition("id", "eq", row_id)]))


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
    table = _table(model)
    query = _in_page(
        select(table if columns_only else model), table, tenant_id, conditions, first_row, max_rows
    ).order_by(table.c.id)
    rows: Sequence[Any] = (
        (await session.execute(query)).all() if columns_only else (await session.scalars(query)).all()
    )
    return rows


def _in_page(
    query: Select[Any],
    table: Table,
    tenant_id: int,
    conditions: Sequence[Condition],
    first_row: int,
    max_rows: int,
) -> Select[Any]:
    """``query`` narrowed to the rows of one page, found by their ids first: an offset counts index
    entries, not rows."""
    page_ids = _filtered(select(table.c.id), table, tenant_id, conditions)
    return query.where(
        table.c.tenant_id == tenant_id,
        table.c.id.in_(page_ids.order_by(table.c.id).offset(first_row).limit(max_rows)),
    )


@dataclass(frozen=True)
class JsonField:
    """A column the database writes into a row's JSON itself: its name there, and whether it is a
    NUMERIC whose trailing zeros go (``9.500000`` is written ``9.5``, ``3.000000`` is ``3``)."""

    name: str
    column: str
    numeric: bool = False


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
) -> Sequence[Any]:
    """PostgreSQL only: one page in id order, each row as ``(json text, extras)``, the JSON written by
    the database (fields in the order given, null ones left out), ``extras`` the ``extras_column``'s
    value or None. Reading one text a row instead of every column is what makes a page cheap to serve."""
    table = _table(model)
    page = _in_page(select(table), table, tenant_id, conditions, first_row, max_rows).subquery("page")
    pairs: list[Any] = []
    for field in fields:
        assert field.name.isidentifier(), field.name  # written into the SQL as a literal
        value = page.c[field.column]
        pairs += [literal_column(f"'{field.name}'"), func.trim_scale(value) if field.numeric else value]
    # As text: the driver would otherwise parse each row's JSON only for it to be written again.
    row_json = cast(func.json_strip_nulls(func.json_build_object(*pairs)), Text)
    extras = page.c[extras_column] if extras_column is not None else literal_column("NULL")
    return (await session.execute(select(row_json, extras).order_by(page.c.id))).all()
