"""A page of records the database writes as JSON is the page headwater would write: the same fields in
the same order with the same values, numbers written exactly (PostgreSQL writes ``0.000001`` where a
float is written ``1e-6``: the same JSON number)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from headwater import jsonbytes, resources
from headwater.runtime import Runtime
from headwater.store import resources as store
from headwater.store.tables import PartnerSale, PhysicalLocation
from tests.support.records import add_tenant, seed_sales


def _exactly(page: bytes) -> list[list[tuple[str, object]]]:
    """Each row's members in order, numbers as decimals."""
    return [list(row.items()) for row in json.loads(page, parse_float=Decimal)]


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
            written = jsonbytes.dumps(resources.show_rows(resource, rows))
            assert _exactly(answered) == _exactly(written), (name, parameters)
            if name == "partnerSales" and not parameters:  # text as itself, however it was stored
                assert "Zoë \u2028\"".encode() in answered


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
