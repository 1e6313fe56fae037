"""The integration API as its users meet it: a token, both headers, and every verb and resource."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy import update

from headwater import resources
from headwater.clock import utcnow
from headwater.store.tables import (
    Company,
    ImportErrorRow,
    ImportFile,
    PartnerStock,
    Person,
    PhysicalLocation,
    Run,
)
from tests.conftest import AppClient, runtime_of
from tests.integration.integration_support import PULL_SOURCE, add_tenant, connect, is_message, seed_sales


async def _seed_everything(app: FastAPI, tenant_id: int) -> dict[str, int]:
    """One row of every resource, hanging off one source and one file."""
    runtime = runtime_of(app)
    seeded = await seed_sales(runtime, tenant_id, 3)
    now = utcnow()
    async with runtime.db.session() as session:
        run = Run(
            tenant_id=tenant_id,
            data_source_id=seeded.source_id,
            trigger="api",
            started_at=now,
            finished_at=now,
            files_seen=1,
            files_imported=1,
            outcome="succeeded",
        )
        session.add(run)
        await session.flush()
        await session.execute(update(ImportFile).where(ImportFile.id == seeded.file_id).values(run_id=run.id))
        record = {
            "tenant_id": tenant_id,
            "data_source_id": seeded.source_id,
            "import_file_id": seeded.file_id,
        }
        rows = [
            ImportErrorRow(
                tenant_id=tenant_id,
                import_file_id=seeded.file_id,
                line=4,
                code="InvalidQuantity",
                message="bad",
            ),
            PartnerStock(
                **record,
                line=2,
                stock_date=datetime(2024, 2, 1).date(),
                quantity=Decimal(5),
                sku="SKU-1",
                descriptions={"description1": "blue"},
            ),
            Person(**record, line=2, key="P1", external_id="P1", first_name="Ada", email="ada@example.com"),
            Company(**record, line=2, key="C1", external_id="C1", name="Acme"),
            PhysicalLocation(**record, line=2, code="L1", latitude=Decimal("52.5200000")),
        ]
        session.add_all(rows)
        await session.flush()
        return {"source": seeded.source_id, "file": seeded.file_id, "run": run.id}


async def test_a_client_reads_every_resource_and_subordinate(app_client: AppClient) -> None:
    app, http = app_client
    tenant_id = await add_tenant(runtime_of(app), "acme")
    ids = await _seed_everything(app, tenant_id)
    client = await connect(app, http, "acme")

    for name in resources.RESOURCES:
        listed = await client.get(f"/{name}")
        assert isinstance(listed, list) and listed, name
        first = listed[0]
        assert await client.get(f"/{name}/{first['id']}") == first
    for parent, parent_id in (
        ("dataSources", ids["source"]),
        ("importFiles", ids["file"]),
        ("runs", ids["run"]),
    ):
        for subordinate in resources.RESOURCES[parent].subordinates:
            shown = await client.get(f"/{parent}/{parent_id}/{subordinate}")
            assert isinstance(shown, list) and shown, (parent, subordinate)
            assert shown == await client.get(f"/{subordinate}"), (parent, subordinate)

    sale = (await client.get("/partnerSales"))[0]
    assert sale == {
        "id": sale["id"],
        "dataSourceId": ids["source"],
        "importFileId": ids["file"],
        "line": 2,
        "saleDate": "2024-01-01",
        "transactionId": "T00000",
        "quantity": 1,
        "amount": 9.5,
        "total": 9.5,
        "sku": "SKU-0",
        "partnerSkuCode": "SKU-0",
    }, "null fields (currency, vendorId, ...) are left out"
    stock = (await client.get("/partnerStock"))[0]
    assert stock["description1"] == "blue" and "amount" not in stock
    assert (await client.get("/physicalLocations"))[0]["latitude"] == 52.52


async def test_data_sources_are_created_patched_and_set_attribute_by_attribute(app_client: AppClient) -> None:
    app, http = app_client
    await add_tenant(runtime_of(app), "acme")
    client = await connect(app, http, "acme")

    created = await client.send("POST", "/dataSources", {**PULL_SOURCE, "someFutureField": 1})
    source_id = created["id"]
    assert created["password"] == "********"
    assert created["host"] == "ftp.example.com" and created["active"] is True
    assert "privateKeyFile" not in created and "lastRunningTime" not in created
    assert "s3cret-password" not in str(created)
    assert await client.get(f"/dataSources/{source_id}") == created

    patched = await client.send(
        "PATCH", f"/dataSources/{source_id}", {"host": "ftp2.example.com", "port": 2121}
    )
    assert (patched["host"], patched["port"], patched["user"]) == ("ftp2.example.com", 2121, "demo")
    assert patched["password"] == "********"

    inactive = await client.send("PUT", f"/dataSources/{source_id}/active", False)
    assert inactive["active"] is False and inactive["host"] == "ftp2.example.com"
    renamed = await client.send("PUT", f"/dataSources/{source_id}/workingDirectory", "/archive")
    assert renamed["workingDirectory"] == "/archive"
    assert (await client.get(f"/dataSources/{source_id}"))["active"] is False


async def test_data_source_mistakes_answer_200_with_a_message(app_client: AppClient) -> None:
    app, http = app_client
    await add_tenant(runtime_of(app), "acme")
    client = await connect(app, http, "acme")

    bad_type = await client.send("POST", "/dataSources", {**PULL_SOURCE, "processorType": 1})
    assert is_message(bad_type, "invalid_processorType")
    no_host = {key: value for key, value in PULL_SOURCE.items() if key != "host"}
    assert is_message(await client.send("POST", "/dataSources", no_host), "missing_host")
    foreign_touchpoint = await client.send("POST", "/dataSources", {**PULL_SOURCE, "touchpointCode": "other"})
    assert is_message(foreign_touchpoint, "invalid_touchpointCode")
    broken = await client.request(
        "POST", "/dataSources", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 200 and is_message(broken.json(), "invalid_json")
    assert is_message(await client.send("POST", "/dataSources", [PULL_SOURCE]), "invalid_json")

    created = await client.send("POST", "/dataSources", {**PULL_SOURCE, "name": "sales"})
    assert is_message(
        await client.send("POST", "/dataSources", {**PULL_SOURCE, "name": "sales"}), "duplicate_name"
    )
    assert is_message(await client.send("PATCH", "/dataSources/999", {"port": 21}), "not_found_DataSource")
    assert is_message(
        await client.send("PATCH", f"/dataSources/{created['id']}", {"port": 0}), "invalid_port"
    )
    assert is_message(await client.send("PUT", f"/dataSources/{created['id']}/id", 5), "invalid_attribute")
    assert is_message(await client.get("/dataSources/999"), "not_found_DataSource")
    assert is_message(await client.get("/dataSources/abc"), "invalid_id")
    assert is_message(await client.get("/partnerSales/5"), "not_found_PartnerSale")
    assert is_message(await client.get("/importFiles/7/importErrors"), "not_found_ImportFile")


async def test_an_upload_only_source_has_no_server_settings_to_change(app_client: AppClient) -> None:
    app, http = app_client
    tenant_id = await add_tenant(runtime_of(app), "acme")
    seeded = await seed_sales(runtime_of(app), tenant_id, 1)
    client = await connect(app, http, "acme")
    answer = await client.send("PATCH", f"/dataSources/{seeded.source_id}", {"host": "ftp.example.com"})
    assert is_message(answer, "not_pull_source")


class RecordingRunner:
    """headwater's own runner port, answering as a runner with one run under way would."""

    def __init__(self) -> None:
        self.requested: list[tuple[int, int, str]] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def request_run(
        self, tenant_id: int, source_id: int, *, trigger: str = "manual", run_id: int | None = None
    ) -> bool:
        if any(source == source_id for _, source, _ in self.requested):
            return False
        self.requested.append((tenant_id, source_id, trigger))
        return True


async def test_a_run_is_started_now_through_the_runner(app_client: AppClient) -> None:
    app, http = app_client
    tenant_id = await add_tenant(runtime_of(app), "acme")
    client = await connect(app, http, "acme")
    source_id = (await client.send("POST", "/dataSources", PULL_SOURCE))["id"]

    assert is_message(await client.send("POST", f"/dataSources/{source_id}/runs", {}), "runs_disabled")
    runner = RecordingRunner()
    runtime_of(app).runner = runner
    try:
        started = await client.send("POST", f"/dataSources/{source_id}/runs", None)
        run_id = started.pop("runId")
        assert started == {"dataSourceId": source_id, "trigger": "api", "outcome": "requested"}
        assert runner.requested == [(tenant_id, source_id, "api")]
        again = await client.send("POST", f"/dataSources/{source_id}/runs", None)
        assert is_message(again, "run_already_requested")
        [queued] = await client.get(f"/dataSources/{source_id}/runs")
        assert (queued["id"], queued["trigger"], queued["outcome"]) == (run_id, "api", "queued")
        assert "startedAt" not in queued and "queuedAt" in queued
        shown = await client.get(f"/dataSources/{source_id}")
        assert shown["lastRunStatus"] == "queued"
        assert is_message(await client.send("POST", "/dataSources/999/runs", None), "not_found_DataSource")
    finally:
        runtime_of(app).runner = None


async def test_filters_on_text_numbers_dates_times_and_booleans(app_client: AppClient) -> None:
    app, http = app_client
    tenant_id = await add_tenant(runtime_of(app), "acme")
    seeded = await seed_sales(runtime_of(app), tenant_id, 40)
    client = await connect(app, http, "acme")

    async def ids(path: str = "/partnerSales", **params: Any) -> list[int]:
        rows = await client.get(path, **params)
        assert isinstance(rows, list), rows
        return [row["id"] for row in rows]

    sale_ids = seeded.sale_ids
    assert await ids(transactionId="T00003") == [sale_ids[3]]
    assert await ids(transactionIdMatch="T0001*") == sale_ids[10:20]
    assert await ids(transactionIdMatch="t*5") == [sale_ids[5], sale_ids[15], sale_ids[25], sale_ids[35]]
    assert await ids(transactionIdMatch="T_0001") == [], "_ is no wildcard"
    assert await ids(transactionIdMatch="%") == [], "% is no wildcard"
    assert await ids(saleDateFrom="2024-01-05", saleDateTo="2024-01-07") == sale_ids[4:7]
    assert await ids(saleDate="2024-01-10") == [sale_ids[9]]
    assert await ids(quantity="3") == [i for n, i in enumerate(sale_ids) if n % 7 + 1 == 3]
    assert await ids(quantity="3.0", currency="EUR") == [
        i for n, i in enumerate(sale_ids) if n % 7 == 2 and n % 2
    ]
    assert await ids(importFileId=str(seeded.file_id), maxNumRows=3) == sale_ids[:3]
    assert await ids("/importFiles", createdAtFrom="2000-01-01", createdAtTo=utcnow().date().isoformat()) == [
        seeded.file_id
    ]
    assert await ids("/importFiles", createdAtFrom="2999-01-01T00:00:00Z") == []
    assert await ids("/importFiles", createdAtTo="2000-01-01T00:00:00+02:00") == []
    assert await ids("/dataSources", system="Custom", active="true") == [seeded.source_id]
    assert await ids("/dataSources", active="false") == []
    assert await ids(f"/dataSources/{seeded.source_id}/partnerSales", transactionIdMatch="*39") == [
        sale_ids[39]
    ]


BAD_QUERIES: list[tuple[dict[str, str], str]] = [
    ({"colour": "red"}, "invalid_filter"),
    ({"quantityMatch": "3*"}, "invalid_filter"),
    ({"transactionIdFrom": "T1"}, "invalid_filter"),
    ({"quantity": "three"}, "invalid_filter"),
    ({"quantity": "NaN"}, "invalid_filter"),
    ({"id": "99999999999999999999"}, "invalid_filter"),
    ({"line": "99999999999"}, "invalid_filter"),  # an INTEGER column: 32 bits on PostgreSQL
    ({"amount": "1e16"}, "invalid_filter"),  # NUMERIC(20, 6): PostgreSQL refuses to cast it
    ({"saleDateFrom": "01/02/2024"}, "invalid_filter"),
    ({"saleDate": "2024-02-30"}, "invalid_filter"),
    ({"transactionId": "a\x00b"}, "invalid_filter"),
    ({"maxNumRows": "1001"}, "maxNumRows_too_large"),
    ({"maxNumRows": "0"}, "invalid_pagination"),
    ({"maxNumRows": "ten"}, "invalid_pagination"),
    ({"firstRow": "-1"}, "invalid_pagination"),
]


async def test_a_bad_filter_or_page_answers_a_message(app_client: AppClient) -> None:
    app, http = app_client
    await add_tenant(runtime_of(app), "acme")
    client = await connect(app, http, "acme")
    for params, code in BAD_QUERIES:
        answer = await client.get("/partnerSales", **params)
        assert is_message(answer, code), (params, answer)


async def test_paging_through_2500_sales_with_first_row_neither_repeats_nor_skips(
    app_client: AppClient,
) -> None:
    app, http = app_client
    tenant_id = await add_tenant(runtime_of(app), "acme")
    seeded = await seed_sales(runtime_of(app), tenant_id, 2500)
    client = await connect(app, http, "acme")

    assert len(await client.get("/partnerSales")) == 1000, "1000 rows by default"
    rows = await client.all_pages("/partnerSales")
    assert [row["id"] for row in rows] == seeded.sale_ids
    assert len({row["transactionId"] for row in rows}) == 2500

    # The table grows while a client pages through it: new rows land at the end, in id order.
    pages = [await client.get("/partnerSales", maxNumRows=1000, firstRow=0)]
    more = await seed_sales(runtime_of(app), tenant_id, 700, name="late")
    while len(pages[-1]) == 1000:
        pages.append(await client.get("/partnerSales", maxNumRows=1000, firstRow=1000 * len(pages)))
    seen = [row["id"] for page in pages for row in page]
    assert seen == seeded.sale_ids + more.sale_ids


async def test_an_unexpected_failure_answers_200_with_a_request_id_and_is_logged(
    app_client: AppClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, http = app_client
    await add_tenant(runtime_of(app), "acme")
    client = await connect(app, http, "acme")

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(resources, "list_json", broken)
    with structlog.testing.capture_logs() as logs:
        response = await client.request("GET", "/partnerSales")
    assert response.status_code == 200
    answer = response.json()
    assert is_message(answer, "internal_error") and answer["requestId"] in answer["messageText"]
    assert "fire" not in answer["messageText"]
    logged = [entry for entry in logs if entry.get("request_id") == answer["requestId"]]
    assert logged and logged[0]["log_level"] == "error"
    assert isinstance(logged[0]["exc_info"], RuntimeError)


async def test_unknown_routes_are_the_web_servers_business(app_client: AppClient) -> None:
    app, http = app_client
    await add_tenant(runtime_of(app), "acme")
    client = await connect(app, http, "acme")
    assert (await client.request("GET", "/warehouses")).status_code == 404
    assert (await client.request("DELETE", "/dataSources/1")).status_code == 405


async def test_the_openapi_description_lists_every_resource(app_client: AppClient) -> None:
    _app, http = app_client
    response = await http.get("/prod/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert document["servers"] == [{"url": "/prod"}]
    for name in resources.RESOURCES:
        assert f"/{name}" in document["paths"] and f"/{name}/{{id}}" in document["paths"]
    assert {"post", "get"} <= set(document["paths"]["/dataSources"])
    assert {"get", "patch"} <= set(document["paths"]["/dataSources/{id}"])
    schemes = document["components"]["securitySchemes"]
    assert schemes["clientCredentials"]["flows"]["clientCredentials"]["tokenUrl"] == "/oauth2/token"
    assert schemes["areaKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": schemes["areaKey"]["description"],
    }


def test_datetimes_filters_read_dates_as_whole_days() -> None:
    page = resources.read_query(resources.RESOURCES["runs"], [("startedAtTo", "2024-03-01")])
    (condition,) = page.conditions
    assert condition.operator == "lt" and condition.value == datetime(2024, 3, 2, tzinfo=UTC)
