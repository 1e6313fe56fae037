"""Uploading files through the integration API: a raw body or multipart, imported like pulled files."""

from __future__ import annotations

from tests.conftest import AppClient, runtime_of
from tests.integration.integration_support import PULL_SOURCE, add_tenant, connect, is_message

SALES_CSV = (
    b"saleDate,transactionId,quantity,amount,partnerSkuCode\n"
    b"2024-03-01,T1,2,10.50,SKU-1\n"
    b"2024-03-02,T2,1,4.00,SKU-2\n"
    b"not a date,T3,1,4.00,SKU-3\n"
)


async def test_a_raw_upload_is_imported_and_its_rows_and_errors_are_served(app_client: AppClient) -> None:
    app, http = app_client
    await add_tenant(runtime_of(app), "acme")
    client = await connect(app, http, "acme")
    source_id = (await client.send("POST", "/dataSources", PULL_SOURCE))["id"]

    response = await client.request(
        "POST",
        f"/dataSources/{source_id}/importFiles",
        params={"name": "march.csv"},
        content=SALES_CSV,
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 200
    imported = response.json()
    assert (imported["name"], imported["dataSourceId"]) == ("march.csv", source_id)
    assert (imported["rowsOk"], imported["rowsWithErrors"]) == (2, 1)

    file_id = imported["id"]
    assert await client.get(f"/importFiles/{file_id}") == imported
    sales = await client.get(f"/importFiles/{file_id}/partnerSales")
    assert [sale["transactionId"] for sale in sales] == ["T1", "T2"]
    assert sales[0]["saleDate"] == "2024-03-01" and sales[0]["total"] == 10.5, (
        "amountCalculated: the amount is the total"
    )
    (error,) = await client.get(f"/importFiles/{file_id}/importErrors")
    assert error["line"] == 4 and error["code"]
    assert [f["id"] for f in await client.get(f"/dataSources/{source_id}/importFiles")] == [file_id]


async def test_a_multipart_upload_takes_the_name_of_its_file_part(app_client: AppClient) -> None:
    app, http = app_client
    await add_tenant(runtime_of(app), "acme")
    client = await connect(app, http, "acme")
    source_id = (await client.send("POST", "/dataSources", PULL_SOURCE))["id"]

    response = await client.request(
        "POST", f"/dataSources/{source_id}/importFiles", files={"file": ("april.csv", SALES_CSV, "text/csv")}
    )
    assert response.status_code == 200
    assert response.json()["name"] == "april.csv" and response.json()["rowsOk"] == 2


async def test_upload_mistakes_answer_messages(app_client: AppClient) -> None:
    app, http = app_client
    await add_tenant(runtime_of(app), "acme")
    client = await connect(app, http, "acme")
    source_id = (await client.send("POST", "/dataSources", PULL_SOURCE))["id"]
    path = f"/dataSources/{source_id}/importFiles"

    unnamed = await client.request("POST", path, content=SALES_CSV)
    assert is_message(unnamed.json(), "missing_name")
    no_file = await client.request("POST", path, files={"other": ("x.csv", b"a", "text/csv")})
    assert is_message(no_file.json(), "missing_file")
    broken = await client.request(
        "POST", path, content=b"--x\r\nnonsense", headers={"Content-Type": "multipart/form-data"}
    )
    assert broken.status_code == 200
    assert is_message(broken.json(), "invalid_upload"), broken.text
    elsewhere = await client.request(
        "POST", "/dataSources/999/importFiles", params={"name": "a.csv"}, content=b"a"
    )
    assert is_message(elsewhere.json(), "not_found_DataSource")
