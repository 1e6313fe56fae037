"""A page of records the database writes as JSON is the page headwater would write: the same fields in
the same order with the same values, numbers written exactly (PostgreSQL writes ``0.000001`` where a
float is written ``1e-6``: the same JSON number)."""

from __future__ import annotations

import json
import random
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from headwater import jsonbytes, resources
from headwater.runtime import Runtime
from headwater.store import resources as store
from headwater.store.tables import PartnerSale, PhysicalLocation
from tests.support.records import add_tenant, seed_sales


def _exactly(page: bytes) -> list[list[tuple[str, object]]]:
    """Each row's members in order, numbers as decimals."""
    return [list(row.items()) for row in json.loads(page, parse_float=Decimal)]


async def _answered_and_shown(
    session: AsyncSession, tenant_id: int, resource: resources.Resource, parameters: list[tuple[str, str]]
) -> tuple[bytes, bytes]:
    """The page the integration API answers, and the same page read as plain rows and shown by
    ``show_rows``: what the fast paths must equal."""
    answered = await resources.list_json(session, tenant_id, resource, parameters)
    page = resources.read_query(resource, parameters)
    rows = await store.fetch_page(
        session,
        tenant_id,
        resource.model,
        page.conditions,
        first_row=page.first_row,
        max_rows=page.max_rows,
        columns_only=True,
    )
    return answered, jsonbytes.dumps(resources.show_rows(resource, rows))


async def test_a_page_of_records_reads_the_same_on_every_database(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        tenant_id = await add_tenant(session, "acme")
        seeded = await seed_sales(session, tenant_id, 30)
        odd = PartnerSale(
            tenant_id=tenant_id,
            data_source_id=seeded.source_id,
            import_file_id=seeded.file_id,
            line=99,
            sale_date=date(2024, 2, 29),
            transaction_id='T-"odd"\n',
            quantity=Decimal("0.000001"),
            amount=Decimal("-12345678.5"),
            total=Decimal("100"),
            sku="Zoë\t\u2028",
            descriptions={"description1": "first Zoë \u2028", "sku": "not shown twice", "description2": None},
        )
        place = PhysicalLocation(
            tenant_id=tenant_id,
            data_source_id=seeded.source_id,
            import_file_id=seeded.file_id,
            line=2,
            code="P-1",
            latitude=Decimal("55.6760968"),
            longitude=Decimal("-12.0000000"),
        )
        session.add_all([odd, place])

    for name in ("partnerSales", "physicalLocations"):
        resource = resources.RESOURCES[name]
        for parameters in ([], [("maxNumRows", "7"), ("firstRow", "25")], [("idFrom", "3"), ("idTo", "9")]):
            async with runtime.db.session() as session:
                answered, written = await _answered_and_shown(session, tenant_id, resource, parameters)
            assert _exactly(answered) == _exactly(written), (name, parameters)
            if name == "partnerSales" and not parameters:  # text as itself, however it was stored
                assert 'Zoë \u2028"'.encode() in answered


async def test_ids_from_and_to_page_by_key(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        tenant_id = await add_tenant(session, "acme")
        seeded = await seed_sales(session, tenant_id, 20)
    resource = resources.RESOURCES["partnerSales"]
    after = seeded.sale_ids[4]
    async with runtime.db.session() as session:
        answered = await resources.list_json(
            session, tenant_id, resource, [("idFrom", str(after + 1)), ("idTo", str(seeded.sale_ids[9]))]
        )
    assert [row["id"] for row in jsonbytes.loads(answered)] == seeded.sale_ids[5:10]


def _awkward_numbers(count: int, integer_digits: int, scale: int) -> list[Decimal]:
    """Numbers that fit the column, with more places than it keeps among them, and some random ones."""
    chosen = [
        Decimal("0"),
        Decimal("-0.000001"),
        Decimal("0.000001"),
        Decimal("2.675"),
        Decimal("0.1"),
        Decimal("-0.5"),
        Decimal("3.0000001"),
        Decimal("0.33333349"),
        Decimal("123456.78901249"),
        Decimal("-" + "9" * integer_digits + "." + "9" * scale),
        Decimal("1" + "0" * (integer_digits - 1) + ".5"),
    ]
    # Kept below the largest value, which a number with more places could round up past.
    fits = 10**integer_digits - 1
    chosen = [number for number in chosen if abs(number) < fits] + [Decimal(fits - 1) + Decimal("0.5")]
    generator = random.Random(20261201)
    while len(chosen) < count:
        digits = generator.randint(1, integer_digits + scale + 2)
        places = generator.randint(0, scale + 2)
        number = Decimal(generator.randint(-(10**digits), 10**digits)).scaleb(-places)
        if abs(number) < fits:
            chosen.append(number)
    return chosen


# PostgreSQL writes a page of records itself (the test above compares it).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_numbers_and_dates_show_as_their_column_types_read_them(runtime: Runtime) -> None:
    """On SQLite a page's numbers and dates are read as stored and shown in one step: the bytes are those
    of rows read through the column types (Decimal, date) and shown by ``show_rows``."""
    amounts = _awkward_numbers(120, 14, 6)
    places = _awkward_numbers(120, 3, 7)
    days = [date(1900, 1, 1), date(2199, 12, 31), date(2024, 2, 29), date(999 + 1001, 1, 9)]
    async with runtime.db.session() as session:
        tenant_id = await add_tenant(session, "acme")
        seeded = await seed_sales(session, tenant_id, 1)
        for n, amount in enumerate(amounts):
            session.add(
                PartnerSale(
                    tenant_id=tenant_id,
                    data_source_id=seeded.source_id,
                    import_file_id=seeded.file_id,
                    line=n + 10,
                    sale_date=days[n % len(days)],
                    transaction_id=f"T-{n}",
                    quantity=amount,
                    amount=-amount,
                    total=amounts[-1 - n],
                    sku=f"S-{n}",
                    currency=None if n % 3 else "EUR",
                    descriptions=None if n % 2 else {"description1": f"d {n}", "sku": "taken", "more": n},
                )
            )
            session.add(
                PhysicalLocation(
                    tenant_id=tenant_id,
                    data_source_id=seeded.source_id,
                    import_file_id=seeded.file_id,
                    line=n + 10,
                    code=f"P-{n}",
                    latitude=places[n],
                    longitude=None if n % 4 == 0 else -places[-1 - n],
                )
            )

    for name in ("partnerSales", "physicalLocations"):
        resource = resources.RESOURCES[name]
        for parameters in ([], [("firstRow", "7"), ("maxNumRows", "50")], [("idFrom", "20")]):
            async with runtime.db.reading() as session:
                answered, written = await _answered_and_shown(session, tenant_id, resource, parameters)
            assert json.loads(answered), (name, parameters)
            assert answered == written, (name, parameters)
