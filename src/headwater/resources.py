"""The resources the integration API serves: what each exposes, how it filters, pages and shows.

Every resource is a table of the tenant's, seen under camelCase field names. Lists take filters on
their scalar fields (``{field}=`` exact, ``{field}Match=`` with ``*`` wildcards on text, ``{field}From=``
and ``{field}To=`` on dates and times) and pagination (``maxNumRows``, ``firstRow``). A shown row leaves
out its null fields; a data source is shown as ``sources.describe`` shows it, secrets masked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cached_property
from math import isfinite
from typing import Any, Literal

from sqlalchemy import BigInteger, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from headwater import jsonbytes, source_fields
from headwater.clock import as_utc, iso_millis
from headwater.errors import HeadwaterError, NotFound
from headwater.sources import describe
from headwater.storable import storable
from headwater.store import resources as store
from headwater.store.resources import Condition
from headwater.store.tables import (
    Base,
    Company,
    DataSource,
    ImportErrorRow,
    ImportFile,
    PartnerSale,
    PartnerStock,
    Person,
    PhysicalLocation,
    Run,
)

MAX_ROWS = 1000
MAX_ID = 2**63 - 1
MAX_INT32 = 2**31 - 1
MAX_FILTER_LENGTH = 1000


class InvalidFilter(HeadwaterError):
    code = "invalid_filter"


class MaxNumRowsTooLarge(HeadwaterError):
    code = "maxNumRows_too_large"


class InvalidPagination(HeadwaterError):
    code = "invalid_pagination"


class Kind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"
    # Shown, never filtered on: masked secrets and free-form extras.
    OPAQUE = "opaque"


@dataclass(frozen=True)
class Field:
    name: str
    column: str
    kind: Kind

    @property
    def filters(self) -> dict[str, str]:
        """Query parameter -> operator, for this field."""
        if self.kind is Kind.OPAQUE:
            return {}
        found = {self.name: "eq"}
        if self.kind is Kind.TEXT:
            found[self.name + "Match"] = "match"
        # Ranges of ids page by key: ``idFrom`` = the last id seen + 1 reads the next rows straight
        # from the primary key at any depth, where ``firstRow`` has to count the rows before it.
        if self.kind in (Kind.DATE, Kind.DATETIME) or (self.kind is Kind.INTEGER and self.name == "id"):
            found[self.name + "From"] = "from"
            found[self.name + "To"] = "to"
        return found


@dataclass(frozen=True)
class Resource:
    name: str
    # Names the resource in ``not_found_<kind>``.
    kind: str
    model: type[Base]
    fields: tuple[Field, ...]
    # Subordinate resource name -> the column of the subordinate that points at this resource.
    subordinates: Mapping[str, str] = field(default_factory=dict)
    show: Callable[[Resource, Any], dict[str, Any]] | None = None

    @cached_property
    def shown_as(self) -> tuple[tuple[str, str, Callable[[Any], Any] | None], ...]:
        """(field name, column, how to write its value), in the order fields are shown."""
        return tuple((f.name, f.column, SHOWN_AS.get(f.kind)) for f in self.fields)

    @cached_property
    def shown_by_position(self) -> tuple[tuple[str, int, Callable[[Any], Any] | None], ...]:
        """Like ``shown_as``, with each column's position in a row of ``select(table)``."""
        positions = {column.key: n for n, column in enumerate(self.model.__table__.columns)}
        return tuple((name, positions[column], convert) for name, column, convert in self.shown_as)

    @cached_property
    def descriptions_position(self) -> int | None:
        if self.show is not _show_record_with_descriptions:
            return None
        return [column.key for column in self.model.__table__.columns].index("descriptions")

    @property
    def shown_from_columns(self) -> bool:
        """Whether plain rows of the table are enough to show it (else it needs ORM objects)."""
        return self.show is not _show_source

    @cached_property
    def written_by_database(self) -> tuple[store.JsonField, ...] | None:
        """The fields as PostgreSQL writes them into JSON, when it writes each one as ``show`` does;
        None for resources with times (``iso_millis`` has a format of its own) or masked fields."""
        if not self.shown_from_columns or any(f.kind in (Kind.DATETIME, Kind.OPAQUE) for f in self.fields):
            return None
        return tuple(store.JsonField(f.name, f.column, _WRITTEN_NUMBER.get(f.kind)) for f in self.fields)

    @cached_property
    def largest(self) -> dict[str, int]:
        """Column -> the largest whole number it holds (INTEGER columns are 32-bit on PostgreSQL); for a
        NUMERIC(p, s) column, the power of ten its values stay below (PostgreSQL refuses a larger filter
        value cast to the column's type)."""
        table = self.model.__table__
        found: dict[str, int] = {}
        for f in self.fields:
            column_type = table.c[f.column].type
            if f.kind is Kind.INTEGER:
                found[f.column] = MAX_ID if isinstance(column_type, BigInteger) else MAX_INT32
            elif f.kind is Kind.NUMBER and isinstance(column_type, Numeric) and column_type.precision:
                found[f.column] = 10 ** (column_type.precision - (column_type.scale or 0))
        return found

    @cached_property
    def filters(self) -> dict[str, tuple[Field, str]]:
        """Query parameter -> the field it filters on and how."""
        return {p: (f, op) for f in self.fields for p, op in f.filters.items()}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _fields(*specs: tuple[str, Kind] | tuple[str, Kind, str]) -> tuple[Field, ...]:
    return tuple(Field(s[0], s[2] if len(s) == 3 else _snake(s[0]), s[1]) for s in specs)


TEXT, INT, NUM, BOOL, DATE, TIME, MASKED = (
    Kind.TEXT,
    Kind.INTEGER,
    Kind.NUMBER,
    Kind.BOOL,
    Kind.DATE,
    Kind.DATETIME,
    Kind.OPAQUE,
)

_RECORD = (("id", INT), ("dataSourceId", INT), ("importFileId", INT), ("line", INT))
_SKU = (("sku", TEXT), ("partnerSkuCode", TEXT), ("skuCodeKey", TEXT), ("skuCode", TEXT))
_PLACE = (("address", TEXT), ("city", TEXT), ("postalCode", TEXT), ("country", TEXT))
_RECORD_SUBORDINATES = {
    "partnerSales": "import_file_id",
    "partnerStock": "import_file_id",
    "persons": "import_file_id",
    "companies": "import_file_id",
    "physicalLocations": "import_file_id",
}


# --- showing rows -------------------------------------------------------------------------------


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, datetime):
        return iso_millis(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _number(value)
    return value


# The numbers PostgreSQL writes into JSON as their own text (see ``store.JsonField``).
_WRITTEN_NUMBER: dict[Kind, Literal["integer", "decimal"]] = {Kind.INTEGER: "integer", Kind.NUMBER: "decimal"}

# How a value of each kind is written in JSON; None: as it comes from the store.
SHOWN_AS: dict[Kind, Callable[[Any], Any] | None] = {
    Kind.DATE: date.isoformat,
    Kind.DATETIME: iso_millis,
    Kind.NUMBER: _number,
}


def _show_columns(resource: Resource, row: Any) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for name, column, convert in resource.shown_as:
        value = getattr(row, column)
        if value is not None:
            shown[name] = value if convert is None else convert(value)
    return shown


def _with_descriptions(shown: dict[str, Any], extras: Any) -> dict[str, Any]:
    """Description columns (``description1`` ...) are shown as fields of their own."""
    if isinstance(extras, dict):
        for key, value in extras.items():
            if isinstance(key, str) and key not in shown and value is not None:
                shown[key] = value
    return shown


def _show_record_with_descriptions(resource: Resource, row: Any) -> dict[str, Any]:
    return _with_descriptions(_show_columns(resource, row), row.descriptions)


def _show_plain_rows(resource: Resource, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows of ``select(table)``, read by position: the hot path of every list."""
    plan = resource.shown_by_position
    descriptions = resource.descriptions_position
    shown_rows = []
    for row in rows:
        shown: dict[str, Any] = {}
        for name, position, convert in plan:
            value = row[position]
            if value is not None:
                shown[name] = value if convert is None else convert(value)
        if descriptions is not None:
            _with_descriptions(shown, row[descriptions])
        shown_rows.append(shown)
    return shown_rows


def _show_source(resource: Resource, row: Any) -> dict[str, Any]:
    return {key: _plain(value) for key, value in describe(row).items() if value is not None}


# --- showing a page read by ``store.fetch_page_values`` -----------------------------------------

# A page of 1000 records has some 20,000 values: on SQLite, where numbers and dates come back as REAL or
# INTEGER and as text, converting each one to ``Decimal`` or ``date`` and then to what is shown costs
# more than the query. There they are read as stored and shown in one step, with the same outcome.
_EXACT_IN_FLOAT = 2**53


def _stored_number(scale: int, processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``_number`` of what the column type makes of a stored value, ``Decimal("%.{scale}f" % value)``:
    a float rounded to ``scale`` places (``round`` rounds as that text does), an int if whole; an int
    that a float holds exactly is itself. Anything else takes the type's own conversion."""

    def shown(value: Any) -> Any:
        if type(value) is float and isfinite(value):
            number = round(value, scale)
            return int(number) if number.is_integer() else number
        if type(value) is int and -_EXACT_IN_FLOAT <= value <= _EXACT_IN_FLOAT:
            return value
        return _number(processor(value))

    return shown


def _stored_date(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``yyyy-MM-dd`` text is shown as stored once it is known to be a date (the type's conversion would
    fail on one that is not); anything else takes the type's conversion, then ``isoformat``."""

    def shown(value: Any) -> Any:
        if type(value) is str and len(value) == 10 and value[4] == value[7] == "-":
            date.fromisoformat(value)  # of ten characters with these dashes, it reads only yyyy-MM-dd
            return value
        return processor(value).isoformat()

    return shown


@dataclass(frozen=True)
class _PagePlan:
    """How a page of a resource shown from columns is read and shown: its columns in field order, then
    its descriptions if it has them; which of them are read as stored; how each converted field is shown."""

    columns: tuple[str, ...]
    as_stored: frozenset[str]
    names: tuple[str, ...]
    converted: tuple[tuple[str, Callable[[Any], Any]], ...]
    # How the stored descriptions are decoded, for a resource that has them (the last column).
    extras: Callable[[Any], Any] | None


def _plan_for(resource: Resource, dialect: Dialect) -> _PagePlan:
    table = resource.model.__table__
    as_stored: set[str] = set()
    converted: list[tuple[str, Callable[[Any], Any]]] = []
    for f in resource.fields:
        column_type = table.c[f.column].type
        processor = column_type.dialect_impl(dialect).result_processor(dialect, None)
        convert = SHOWN_AS.get(f.kind)
        if dialect.name == "sqlite" and processor is not None:
            scale = getattr(column_type, "scale", None)
            if f.kind is Kind.NUMBER and isinstance(column_type, Numeric) and scale is not None:
                as_stored.add(f.column)
                convert = _stored_number(scale, processor)
            elif f.kind is Kind.DATE:
                as_stored.add(f.column)
                convert = _stored_date(processor)
        if convert is not None:
            converted.append((f.name, convert))
    columns = tuple(f.column for f in resource.fields)
    extras: Callable[[Any], Any] | None = None
    if resource.descriptions_position is not None:
        # Mostly NULL: read as stored, and decoded by the type only where there is something to decode.
        columns += ("descriptions",)
        as_stored.add("descriptions")
        extras = table.c.descriptions.type.dialect_impl(dialect).result_processor(dialect, None) or _as_is
    names = tuple(f.name for f in resource.fields)
    return _PagePlan(columns, frozenset(as_stored), names, tuple(converted), extras)


def _as_is(value: Any) -> Any:
    return value


_PLANS: dict[tuple[str, type[Dialect]], _PagePlan] = {}


def _page_plan(resource: Resource, dialect: Dialect) -> _PagePlan:
    key = (resource.name, type(dialect))
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = _plan_for(resource, dialect)
    return plan


def _show_page(plan: _PagePlan, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows of ``store.fetch_page_values`` for ``plan``, shown as ``show`` shows them: the hot path of a
    list where the database does not write the JSON itself."""
    names, converted, extras = plan.names, plan.converted, plan.extras
    shown_rows = []
    for row in rows:
        # ``names`` ends before the descriptions column, and so does the pairing.
        shown = {name: value for name, value in zip(names, row, strict=False) if value is not None}
        for name, convert in converted:
            value = shown.get(name)
            if value is not None:
                shown[name] = convert(value)
        if extras is not None and row[-1] is not None:
            _with_descriptions(shown, extras(row[-1]))
        shown_rows.append(shown)
    return shown_rows


def show(resource: Resource, row: Any) -> dict[str, Any]:
    """One row (an ORM object or a plain row), null fields left out."""
    return (resource.show or _show_columns)(resource, row)


def show_rows(resource: Resource, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows as ``store.fetch_page`` gives them for this resource."""
    if resource.shown_from_columns:
        return _show_plain_rows(resource, rows)
    return [show(resource, row) for row in rows]


# --- the registry -------------------------------------------------------------------------------


def _source_field_kind(spec: source_fields.SourceField) -> Kind:
    """Secrets and fields made by a rule of their own are shown, never filtered on; a derived time
    filters on its column."""
    if spec.masked or (spec.derived and spec.type is not source_fields.FieldType.TIME):
        return Kind.OPAQUE
    return _SOURCE_KINDS[spec.type]


_SOURCE_KINDS = {
    source_fields.FieldType.TEXT: Kind.TEXT,
    source_fields.FieldType.CHOICE: Kind.TEXT,
    source_fields.FieldType.CODE: Kind.INTEGER,
    source_fields.FieldType.INTEGER: Kind.INTEGER,
    source_fields.FieldType.BOOLEAN: Kind.BOOL,
    source_fields.FieldType.TIME: Kind.DATETIME,
    source_fields.FieldType.SCHEDULE: Kind.OPAQUE,
    source_fields.FieldType.OBJECT: Kind.OPAQUE,
}
_DATA_SOURCE_FIELDS = tuple(
    Field(f.name, f.column, _source_field_kind(f)) for f in source_fields.INTEGRATION_FIELDS
)

RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        Resource(
            "dataSources",
            "DataSource",
            DataSource,
            _DATA_SOURCE_FIELDS,
            {
                "runs": "data_source_id",
                "importFiles": "data_source_id",
                **{name: "data_source_id" for name in _RECORD_SUBORDINATES},
            },
            show=_show_source,
        ),
        Resource(
            "runs",
            "Run",
            Run,
            _fields(
                ("id", INT),
                ("dataSourceId", INT),
                ("trigger", TEXT),
                ("queuedAt", TIME),
                ("startedAt", TIME),
                ("finishedAt", TIME),
                ("filesSeen", INT),
                ("filesImported", INT),
                ("filesSkipped", INT),
                ("filesFailed", INT),
                ("rowsOk", INT),
                ("rowsWithErrors", INT),
                ("outcome", TEXT),
                ("errorCode", TEXT),
                ("message", TEXT),
            ),
            {"importFiles": "run_id"},
        ),
        Resource(
            "importFiles",
            "ImportFile",
            ImportFile,
            _fields(
                ("id", INT),
                ("dataSourceId", INT),
                ("runId", INT),
                ("path", TEXT),
                ("name", TEXT),
                ("size", INT),
                ("mtime", TIME),
                ("checksum", TEXT),
                ("state", TEXT),
                ("fileType", TEXT),
                ("processorType", INT),
                ("rows", INT),
                ("rowsOk", INT),
                ("rowsWithErrors", INT),
                ("rowsSkipped", INT),
                ("rowsRollbacked", INT),
                ("error", TEXT),
                ("startedAt", TIME),
                ("finishedAt", TIME),
                ("createdAt", TIME),
            ),
            {"importErrors": "import_file_id", **_RECORD_SUBORDINATES},
        ),
        Resource(
            "importErrors",
            "ImportError",
            ImportErrorRow,
            _fields(
                ("id", INT),
                ("importFileId", INT),
                ("line", INT),
                ("column", TEXT),
                ("code", TEXT),
                ("message", TEXT),
                ("rawLine", TEXT),
                ("rawTruncated", BOOL),
            ),
        ),
        Resource(
            "partnerSales",
            "PartnerSale",
            PartnerSale,
            _fields(
                *_RECORD,
                ("saleDate", DATE),
                ("transactionId", TEXT),
                ("quantity", NUM),
                ("amount", NUM),
                ("total", NUM),
                *_SKU,
                ("currency", TEXT),
                ("credentialPrincipal", TEXT),
                ("salesOrigin", TEXT),
                ("vendorId", TEXT),
            ),
            show=_show_record_with_descriptions,
        ),
        Resource(
            "partnerStock",
            "PartnerStock",
            PartnerStock,
            _fields(
                *_RECORD,
                ("stockDate", DATE),
                ("quantity", NUM),
                ("amount", NUM),
                ("expirationDate", DATE),
                *_SKU,
            ),
            show=_show_record_with_descriptions,
        ),
        Resource(
            "persons",
            "Person",
            Person,
            _fields(
                *_RECORD,
                ("externalId", TEXT),
                ("principal", TEXT),
                ("firstName", TEXT),
                ("lastName", TEXT),
                ("email", TEXT),
                ("cellphone", TEXT),
                ("documentType", TEXT),
                ("documentNumber", TEXT),
                ("birthDate", DATE),
                ("gender", TEXT),
                *_PLACE,
            ),
        ),
        Resource(
            "companies",
            "Company",
            Company,
            _fields(
                *_RECORD,
                ("externalId", TEXT),
                ("principal", TEXT),
                ("name", TEXT),
                ("taxId", TEXT),
                ("email", TEXT),
                ("phone", TEXT),
                *_PLACE,
            ),
        ),
        Resource(
            "physicalLocations",
            "PhysicalLocation",
            PhysicalLocation,
            _fields(
                *_RECORD,
                ("code", TEXT),
                ("name", TEXT),
                *_PLACE,
                ("latitude", NUM),
                ("longitude", NUM),
                ("companyCode", TEXT),
            ),
        ),
    )
}


# --- reading the query --------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    conditions: list[Condition]
    first_row: int = 0
    max_rows: int = MAX_ROWS


def _whole_number(parameter: str, raw: str) -> int:
    text = raw.strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,19}", text):
        raise InvalidPagination(f"{parameter} must be a whole number")
    return int(text)


def _parse_value(f: Field, parameter: str, raw: str, largest: int) -> Any:
    def refuse(what: str) -> InvalidFilter:
        return InvalidFilter(f"{parameter}: {what}")

    if len(raw) > MAX_FILTER_LENGTH or not storable(raw):
        raise refuse(f"must be text of at most {MAX_FILTER_LENGTH} characters, without NUL")
    match f.kind:
        case Kind.TEXT:
            return raw
        case Kind.INTEGER:
            if not re.fullmatch(r"[+-]?[0-9]{1,19}", raw.strip()) or abs(int(raw)) > largest:
                raise refuse(f"must be a whole number from -{largest} to {largest}")
            return int(raw)
        case Kind.NUMBER:
            try:
                number = Decimal(raw.strip())
            except InvalidOperation:
                raise refuse("must be a number") from None
            if not number.is_finite() or abs(number.adjusted()) > 20:
                raise refuse("must be a number")
            if abs(number) >= largest:
                raise refuse(f"must be a number between -{largest} and {largest}")
            return number
        case Kind.BOOL:
            if raw.lower() not in ("true", "false"):
                raise refuse("must be true or false")
            return raw.lower() == "true"
        case Kind.DATE:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
                raise refuse("must be a date, yyyy-MM-dd")
            try:
                return date.fromisoformat(raw)
            except ValueError:
                raise refuse("must be a date, yyyy-MM-dd") from None
        case Kind.DATETIME:
            try:
                if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
                    return date.fromisoformat(raw)
                if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.,+\-Z]+", raw):
                    raise ValueError
                return as_utc(datetime.fromisoformat(raw))
            except (ValueError, OverflowError):
                raise refuse("must be an ISO 8601 date or time") from None
    raise refuse("cannot be filtered on")


def _condition(f: Field, operator: str, value: Any) -> Condition:
    """A date given for a time means the whole day: from its start, to its end."""
    if f.kind is Kind.DATETIME and isinstance(value, date) and not isinstance(value, datetime):
        start = datetime.combine(value, time.min, tzinfo=UTC)
        if operator == "to":
            return Condition(f.column, "lt", start + timedelta(days=1))
        if operator == "eq":
            raise InvalidFilter(
                f"{f.name}: an exact time needs a time of day (use {f.name}From and {f.name}To)"
            )
        value = start
    operator = {"from": "ge", "to": "le"}.get(operator, operator)
    return Condition(f.column, operator, value)  # type: ignore[arg-type]


def read_query(resource: Resource, parameters: Iterable[tuple[str, str]]) -> Page:
    """Filters and pagination from the query parameters; an unknown parameter is an ``InvalidFilter``."""
    conditions: list[Condition] = []
    first_row, max_rows = 0, MAX_ROWS
    for parameter, raw in parameters:
        if parameter == "maxNumRows":
            max_rows = _whole_number(parameter, raw)
            if max_rows > MAX_ROWS:
                raise MaxNumRowsTooLarge(f"maxNumRows must be at most {MAX_ROWS}")
            if max_rows < 1:
                raise InvalidPagination("maxNumRows must be at least 1")
        elif parameter == "firstRow":
            first_row = _whole_number(parameter, raw)
            if not 0 <= first_row <= MAX_ID:
                raise InvalidPagination("firstRow must be 0 or more")
        else:
            found = resource.filters.get(parameter)
            if found is None:
                raise InvalidFilter(f"{resource.name} cannot be filtered on {parameter[:100]!r}")
            f, operator = found
            value = _parse_value(f, parameter, raw, resource.largest.get(f.column, MAX_ID))
            conditions.append(_condition(f, operator, value))
    return Page(conditions, first_row, max_rows)


# --- the operations -----------------------------------------------------------------------------


def resource(name: str) -> Resource:
    found = RESOURCES.get(name)
    if found is None:
        raise NotFound("Resource", name)
    return found


async def get_row(session: AsyncSession, tenant_id: int, resource: Resource, row_id: int) -> Any:
    row = (
        None
        if not 1 <= row_id <= MAX_ID
        else await store.fetch_one(session, tenant_id, resource.model, row_id)
    )
    if row is None:
        raise NotFound(resource.kind, row_id)
    return row


async def get_one(session: AsyncSession, tenant_id: int, resource: Resource, row_id: int) -> dict[str, Any]:
    return show(resource, await get_row(session, tenant_id, resource, row_id))


async def _page_json(
    session: AsyncSession, tenant_id: int, resource: Resource, conditions: list[Condition], page: Page
) -> bytes:
    """One page as the JSON array the integration API answers. On PostgreSQL the database writes the
    page of a record resource; elsewhere, or for other resources, the rows are shown here and written
    by ``jsonbytes``. Both give the same members in the same order with the same values; PostgreSQL
    writes numbers exactly (``0.000001``, or more than 15 significant digits), where a float is
    written ``1e-6`` or rounded."""
    fields = resource.written_by_database
    if fields is not None and session.get_bind().dialect.name == "postgresql":
        written = await store.fetch_page_json(
            session,
            tenant_id,
            resource.model,
            conditions,
            first_row=page.first_row,
            max_rows=page.max_rows,
            fields=fields,
            extras_column="descriptions" if resource.descriptions_position is not None else None,
        )
        return written.encode()
    if resource.shown_from_columns:
        plan = _page_plan(resource, session.get_bind().dialect)
        values = await store.fetch_page_values(
            session,
            tenant_id,
            resource.model,
            conditions,
            first_row=page.first_row,
            max_rows=page.max_rows,
            columns=plan.columns,
            as_stored=plan.as_stored,
        )
        return jsonbytes.dumps(_show_page(plan, values))
    rows = await store.fetch_page(
        session, tenant_id, resource.model, conditions, first_row=page.first_row, max_rows=page.max_rows
    )
    return jsonbytes.dumps(show_rows(resource, rows))


async def list_json(
    session: AsyncSession, tenant_id: int, resource: Resource, parameters: Iterable[tuple[str, str]]
) -> bytes:
    """One page of the tenant's rows of ``resource``, filtered and paged by the query, as the JSON array
    the integration API answers."""
    page = read_query(resource, parameters)
    return await _page_json(session, tenant_id, resource, page.conditions, page)


async def list_subordinates_json(
    session: AsyncSession,
    tenant_id: int,
    parent: Resource,
    parent_id: int,
    subordinate: str,
    parameters: Iterable[tuple[str, str]],
) -> bytes:
    """One page of the subordinate rows of one of the tenant's rows, as ``list_json`` writes them;
    ``NotFound`` when the parent is not the tenant's."""
    column = parent.subordinates.get(subordinate)
    if column is None:
        raise NotFound("Resource", f"{parent.name}/{subordinate}")
    await get_row(session, tenant_id, parent, parent_id)
    child = RESOURCES[subordinate]
    page = read_query(child, parameters)
    return await _page_json(
        session, tenant_id, child, [Condition(column, "eq", parent_id), *page.conditions], page
    )


__all__ = [
    "MAX_ROWS",
    "RESOURCES",
    "Field",
    "InvalidFilter",
    "InvalidPagination",
    "Kind",
    "MaxNumRowsTooLarge",
    "Page",
    "Resource",
    "get_one",
    "get_row",
    "list_json",
    "list_subordinates_json",
    "read_query",
    "resource",
    "show",
]
