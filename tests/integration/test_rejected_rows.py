"""Rejected rows to fix and resend, dry runs that store nothing, and uploads into sources without a type."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from headwater.access import apikeys
from headwater.store.tables import ONLY_ON, Base, Tenant
from tests.conftest import AppClient, runtime_of
from tests.integration.integration_support import PULL_SOURCE, add_tenant, connect, is_message
from tests.integration.test_upload_destinations import partner_call
from tests.support.tenants import make_tenancy
from tests.unit.processor_support import write_xlsx

LONG = "x" * 5000
SALES = (
    "saleDate,transactionId,quantity,amount,partnerSkuCode,note\n"
    "2024-03-01,T1,2,10.50,SKU-1,fine\n"
    'bad,T2,1,1,SKU-2,"has, comma and ""quote"""\n'
    "2024-03-02,T3,x,1,SKU-3,plain\n"
    "2024-03-04,T4,1,1,SKU-4\n"
    "2024-03-05,T5,1,1,SKU-5,ok\n"
    f"notadate,T6,1,1,SKU-6,{LONG}\n"
)
CUT = "notadate,T6,1,1,SKU-6," + LONG[: 4096 - len("notadate,T6,1,1,SKU-6,")]
EXPECTED_CSV = (
    "saleDate,transactionId,quantity,amount,partnerSkuCode,note,line,code,message\n"
    'bad,T2,1,1,SKU-2,"has, comma and ""quote""",3,InvalidDate,saleDate \'bad\' is not a date (yyyy-MM-dd)\n'
    "2024-03-02,T3,x,1,SKU-3,plain,4,InvalidNumber,quantity 'x' is not a number\n"
    "2024-03-04,T4,1,1,SKU-4,5,WrongColumnCount,expected 6 values as in the header, found 5\n"
)


async def _upload(call: Any, content: bytes, name: str, **params: Any) -> httpx.Response:
    return await call(
        "POST", "/import/file", params={"type": 25011, **params}, files={"file": (name, content, "text/csv")}
    )


async def _errors_csv(call: Any, source_id: int, file_id: int) -> httpx.Response:
    return await call("GET", f"/partner/datasources/{source_id}/imports/{file_id}/errors.csv")


async def test_the_rejected_rows_come_back_as_a_csv_in_the_files_layout(app_client: AppClient) -> None:
    app, http = app_client
    partner = await make_tenancy(runtime_of(app), "acme")
    call = partner_call(http, partner, partner.touchpoint_code)

    uploaded = await _upload(call, SALES.encode(), "march.csv")
    assert uploaded.status_code == 200, uploaded.text
    imported = uploaded.json()
    assert (imported["rowsOk"], imported["rowsWithErrors"]) == (2, 4)

    answer = await _errors_csv(call, imported["partnerDatasourceId"], imported["id"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment;")
    cut_line = (
        f"{CUT},7,InvalidDate,saleDate 'notadate' is not a date (yyyy-MM-dd) "
        "(the row is longer than 4096 bytes: only its start is given)\n"
    )
    expected = EXPECTED_CSV.replace(
        ",5,WrongColumnCount,expected 6 values as in the header, found 5\n",
        ',5,WrongColumnCount,"expected 6 values as in the header, found 5"\n',
    )
    assert answer.text == expected + cut_line

    listed = await call(
        "GET", f"/partner/datasources/{imported['partnerDatasourceId']}/imports/{imported['id']}/errors"
    )
    errors = listed.json()["importErrors"]
    assert [(e["line"], e["rawTruncated"]) for e in errors] == [(3, False), (4, False), (5, False), (7, True)]
    assert errors[-1]["rawLine"] == CUT and len(errors[-1]["rawLine"].encode()) == 4096


async def test_a_semicolon_file_gives_its_rejected_rows_with_semicolons(app_client: AppClient) -> None:
    app, http = app_client
    partner = await make_tenancy(runtime_of(app), "acme")
    call = partner_call(http, partner, partner.touchpoint_code)
    content = (
        b"saleDate;transactionId;quantity;amount;partnerSkuCode\n"
        b"2024-03-01;T1;2;10,50;SKU-1\n"
        b'bad;T2;1;"1;5";SKU-2\n'
    )

    imported = (await _upload(call, content, "eu.csv")).json()
    answer = await _errors_csv(call, imported["partnerDatasourceId"], imported["id"])

    assert answer.text == (
        "saleDate;transactionId;quantity;amount;partnerSkuCode;line;code;message\n"
        'bad;T2;1;"1;5";SKU-2;3;"InvalidNumber; InvalidDate";'
        "\"amount '1;5' is not a number; saleDate 'bad' is not a date (yyyy-MM-dd)\"\n"
    )


async def test_a_workbooks_rejected_rows_are_its_cells_comma_separated(
    app_client: AppClient, tmp_path: Any
) -> None:
    app, http = app_client
    partner = await make_tenancy(runtime_of(app), "acme")
    call = partner_call(http, partner, partner.touchpoint_code)
    workbook = write_xlsx(
        tmp_path,
        [
            ["saleDate", "transactionId", "quantity", "amount", "partnerSkuCode", "Note"],
            ["2024-03-01", "T1", 2, 10.5, "SKU-1", "a"],
            ["bad", "T2", 1, 1, "SKU-2", 'say "hi", then go'],
        ],
    )

    uploaded = await call(
        "POST", "/import/file", params={"type": 25011}, files={"file": ("m.xlsx", workbook.read_bytes())}
    )
    imported = uploaded.json()
    answer = await _errors_csv(call, imported["partnerDatasourceId"], imported["id"])

    assert answer.text == (
        "saleDate,transactionId,quantity,amount,partnerSkuCode,Note,line,code,message\n"
        'bad,T2,1,1,SKU-2,"say ""hi"", then go",3,InvalidDate,saleDate \'bad\' is not a date (yyyy-MM-dd)\n'
    )


async def test_another_partners_file_has_no_errors_csv(app_client: AppClient) -> None:
    app, http = app_client
    runtime = runtime_of(app)
    owner = await make_tenancy(runtime, "acme")
    stranger = await make_tenancy(runtime, "globex", code="REST02")
    imported = (
        await _upload(partner_call(http, owner, owner.touchpoint_code), SALES.encode(), "m.csv")
    ).json()

    as_stranger = partner_call(http, stranger, stranger.touchpoint_code)
    answer = await _errors_csv(as_stranger, imported["partnerDatasourceId"], imported["id"])
    assert answer.status_code == 404
    as_owner = partner_call(http, owner, owner.touchpoint_code)
    assert (
        await _errors_csv(as_owner, imported["partnerDatasourceId"], imported["id"] + 1000)
    ).status_code == 404


async def _row_counts(app: FastAPI) -> dict[str, int]:
    async with runtime_of(app).db.session() as session:
        dialect = session.get_bind().dialect.name
        return {
            table.name: int(await session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
            if table.info.get(ONLY_ON, dialect) == dialect  # a table kept on one database only
        }


async def test_a_dry_run_answers_the_counts_and_first_rejected_rows_and_stores_nothing(
    app_client: AppClient,
) -> None:
    app, http = app_client
    partner = await make_tenancy(runtime_of(app), "acme")
    call = partner_call(http, partner, partner.touchpoint_code)
    bad_rows = "".join(f"bad{n},T{n},1,1,SKU\n" for n in range(150))
    content = (
        "saleDate,transactionId,quantity,amount,partnerSkuCode\n2024-03-01,T,1,1,SKU\n" + bad_rows
    ).encode()
    before = await _row_counts(app)

    answer = await _upload(call, content, "check.csv", dryRun="true")

    assert answer.status_code == 200, answer.text
    checked = answer.json()
    assert (checked["dryRun"], checked["state"], checked["fileType"]) == (True, "valid", "CSV")
    assert (checked["rows"], checked["rowsOk"], checked["rowsWithErrors"]) == (151, 1, 150)
    assert len(checked["errors"]) == 100
    assert checked["errors"][0] == {
        "line": 3,
        "column": "saleDate",
        "code": "InvalidDate",
        "message": "saleDate 'bad0' is not a date (yyyy-MM-dd)",
        "rawLine": "bad0,T0,1,1,SKU",
        "rawTruncated": False,
    }
    assert checked["errors"][-1]["line"] == 102
    assert await _row_counts(app) == before


async def test_a_partner_upload_naming_another_type_than_its_sources_is_refused(
    app_client: AppClient,
) -> None:
    app, http = app_client
    partner = await make_tenancy(runtime_of(app), "acme")
    call = partner_call(http, partner, partner.touchpoint_code)
    stock_source = (
        await _upload(call, b"stockDate,quantity,partnerSkuCode\n2024-01-01,1,S\n", "s.csv", type=25012)
    ).json()

    answer = await _upload(call, SALES.encode(), "m.csv", datasourceId=stock_source["partnerDatasourceId"])

    assert answer.status_code == 400
    assert answer.json() == {"errors": {"partnerDataSource": "ProcessorTypeMismatch"}}


# --- /prod --------------------------------------------------------------------------------------------


async def test_prod_shows_the_raw_line_and_serves_the_errors_csv(app_client: AppClient) -> None:
    app, http = app_client
    runtime = runtime_of(app)
    await add_tenant(runtime, "acme")
    await add_tenant(runtime, "globex")
    client = await connect(app, http, "acme")
    stranger = await connect(app, http, "globex")
    source_id = (await client.send("POST", "/dataSources", PULL_SOURCE))["id"]

    uploaded = await client.request(
        "POST", f"/dataSources/{source_id}/importFiles", params={"name": "m.csv"}, content=SALES.encode()
    )
    file_id = uploaded.json()["id"]

    errors = await client.get(f"/importFiles/{file_id}/importErrors")
    assert errors[0]["rawLine"] == 'bad,T2,1,1,SKU-2,"has, comma and ""quote"""'
    assert [e["rawTruncated"] for e in errors] == [False, False, False, True]
    assert [e["rawLine"] for e in await client.get("/importErrors")] == [e["rawLine"] for e in errors]

    answer = await client.request("GET", f"/importFiles/{file_id}/importErrors.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0][-3:] == ["line", "code", "message"] and len(rows) == 5
    assert rows[1] == [
        "bad",
        "T2",
        "1",
        "1",
        "SKU-2",
        'has, comma and "quote"',
        "3",
        "InvalidDate",
        rows[1][-1],
    ]

    refused = await stranger.request("GET", f"/importFiles/{file_id}/importErrors.csv")
    assert is_message(refused.json(), "not_found_ImportFile")


async def test_a_prod_dry_run_stores_nothing(app_client: AppClient) -> None:
    app, http = app_client
    await add_tenant(runtime_of(app), "acme")
    client = await connect(app, http, "acme")
    source_id = (await client.send("POST", "/dataSources", PULL_SOURCE))["id"]
    before = await _row_counts(app)

    answer = await client.request(
        "POST",
        f"/dataSources/{source_id}/importFiles",
        params={"name": "m.csv", "dryRun": "true"},
        content=SALES.encode(),
    )

    checked = answer.json()
    assert (checked["rows"], checked["rowsOk"], checked["rowsWithErrors"]) == (6, 2, 4)
    assert [e["line"] for e in checked["importErrors"]] == [3, 4, 5, 7]
    assert checked["importErrors"][3]["rawTruncated"] is True
    assert await _row_counts(app) == before


async def test_a_v1_source_takes_uploads_that_name_their_type(app_client: AppClient) -> None:
    app, http = app_client
    runtime = runtime_of(app)
    tenant_id = await add_tenant(runtime, "acme")
    async with runtime.db.session() as session:
        tenant = await session.get(Tenant, tenant_id)
        assert tenant is not None
        key = (await apikeys.issue(session, runtime.box, tenant_id)).key
    created = await http.post("/v1/data_sources", json={"name": "billing"}, auth=(key, ""))
    assert created.status_code == 201, created.text
    client = await connect(app, http, "acme")
    (source,) = [s for s in await client.get("/dataSources") if s["name"] == "billing"]
    path = f"/dataSources/{source['id']}/importFiles"
    sales = b"saleDate,transactionId,quantity,amount,partnerSkuCode\n2024-03-01,T1,2,10.50,SKU-1\n"

    untyped = await client.request("POST", path, params={"name": "a.csv"}, content=sales)
    assert is_message(untyped.json(), "missing_processorType")

    typed = await client.request(
        "POST", path, params={"name": "a.csv", "processorType": "25011"}, content=sales
    )
    assert typed.json()["rowsOk"] == 1 and typed.json()["processorType"] == 25011

    changed = await client.send("PATCH", f"/dataSources/{source['id']}", {"processorType": 25012})
    assert changed["processorType"] == 25012
    other = await client.request(
        "POST", path, params={"name": "b.csv", "processorType": "25011"}, content=sales
    )
    assert is_message(other.json(), "processor_type_mismatch")
    still_custom = await client.request(
        "PATCH", f"/dataSources/{source['id']}", json={"host": "ftp.example.com"}
    )
    assert is_message(still_custom.json(), "not_pull_source")
