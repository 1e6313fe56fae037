"""End to end on SQLite and PostgreSQL: a file's values the record tables cannot hold (a year 0, an amount
beyond the precision, a NUL, an over-long text) cost their rows only; the good rows import and every page
of both APIs still serves them."""

from __future__ import annotations

import csv
import io
import math
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater.domain import ProcessorType
from headwater.ingest.processors import processor_for
from headwater.ingest.processors.base import ProcessOptions
from headwater.resources import RESOURCES
from tests.conftest import AppClient, runtime_of
from tests.integration.integration_support import IntegrationClient, connect
from tests.support.tenants import Tenancy, make_tenancy

# A NUL in a CSV's first 64 KB marks the whole file as binary: blank lines (skipped, counted) pass that.
PADDING = 70_000
SALES_HEADER = "saleDate,transactionId,quantity,amount,partnerSkuCode,currency,description1"


class Partner:
    """A partner's client of the partner API: touchpoint headers and HTTP Basic."""

    def __init__(self, http: httpx.AsyncClient, tenancy: Tenancy) -> None:
        self.http = http
        self.headers = {
            "Thalamus-Touchpoint": tenancy.touchpoint_code,
            "Thalamus-Token": tenancy.touchpoint_token,
        }
        self.auth = (tenancy.principal, tenancy.password)

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(
            method, "/api/v4" + path, headers=self.headers, auth=self.auth, **kwargs
        )

    async def upload(self, processor_type: int, content: bytes, name: str = "f.csv") -> dict[str, Any]:
        response = await self.call(
            "POST", "/import/file", params={"type": processor_type}, files={"file": (name, content)}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def errors(self, imported: dict[str, Any]) -> list[tuple[int, str, str]]:
        path = f"/partner/datasources/{imported['partnerDatasourceId']}/imports/{imported['id']}/errors"
        response = await self.call("GET", path)
        assert response.status_code == 200, response.text
        return [(e["line"], e["column"], e["code"]) for e in response.json()["importErrors"]]


async def _callers(app: FastAPI, http: httpx.AsyncClient) -> tuple[Partner, IntegrationClient]:
    tenancy = await make_tenancy(runtime_of(app))
    return Partner(http, tenancy), await connect(app, http, "acme")


PAD = "(padding)"  # stands for PADDING blank lines


def _csv(*lines: str) -> bytes:
    expanded = [blank for line in lines for blank in ([""] * PADDING if line == PAD else [line])]
    return ("\n".join(expanded) + "\n").encode()


async def _served(client: IntegrationClient, path: str) -> list[dict[str, Any]]:
    """Every row of a /prod listing; a message (the dialect's error answer) fails the test."""
    rows = await client.all_pages(path)
    assert all("messageCode" not in row for row in rows), rows
    return rows


async def test_bad_sales_cost_their_rows_and_every_page_still_serves(app_client: AppClient) -> None:
    app, http = app_client
    partner, client = await _callers(app, http)
    nul_line = 7 + PADDING
    content = _csv(
        SALES_HEADER,
        "2024-01-05,T1,2,10.5,S1,EUR,good",
        "0000-01-01,T2,1,1,S1,EUR,",
        "2024-01-05,T3,1,1e15,S1,EUR,",
        "2024-01-05,T4,1,1,S1,EUROS-AND-MORE,",
        "1900-01-01,T5,99999999999999.98,1,S1,,",
        PAD,
        "2024-01-05,T6,1,1,S1,E\x00R,",
        "2199-12-31,T7,1,1,S1,,bad\x00",
    )

    imported = await partner.upload(ProcessorType.PARTNER_SALES, content)

    assert (imported["state"], imported["rowsOk"], imported["rowsWithErrors"]) == ("imported", 2, 5)
    assert await partner.errors(imported) == [
        (3, "saleDate", "DateOutOfRange"),
        (4, "amount", "NumberOutOfRange"),
        (5, "currency", "ValueTooLong"),
        (nul_line, "currency", "InvalidCharacter"),
        (nul_line + 1, "description1", "InvalidCharacter"),
    ]
    sales = await _served(client, "/partnerSales")
    assert [(s["transactionId"], s["saleDate"], s["total"]) for s in sales] == [
        ("T1", "2024-01-05", 21.0),
        ("T5", "1900-01-01", 99999999999999.98),
    ]
    assert sales == await _served(client, f"/importFiles/{imported['id']}/partnerSales")
    errors = await _served(client, f"/importFiles/{imported['id']}/importErrors")
    assert [e["code"] for e in errors] == [
        "DateOutOfRange",
        "NumberOutOfRange",
        "ValueTooLong",
        "InvalidCharacter",
        "InvalidCharacter",
    ]
    assert (await client.get(f"/importFiles/{imported['id']}"))["state"] == "imported"


@pytest.mark.parametrize(
    ("processor_type", "resource", "lines", "expected"),
    [
        (
            ProcessorType.PARTNER_STOCK,
            "partnerStock",
            [
                "stockDate,quantity,partnerSkuCode,amount,expirationDate",
                "2024-01-05,1,S1,2.5,2199-12-31",
                "1899-12-31,1,S2,,",
                "2024-01-05,1,S3,,2200-01-01",
                "2024-01-05,1e15,S4,,",
                f"2024-01-05,1,{'S' * 201},,",
                PAD,
                "2024-01-05,1,S\x005,,",
            ],
            [
                (3, "stockDate", "DateOutOfRange"),
                (4, "expirationDate", "DateOutOfRange"),
                (5, "quantity", "NumberOutOfRange"),
                (6, "partnerSkuCode", "ValueTooLong"),
                (7 + PADDING, "partnerSkuCode", "InvalidCharacter"),
            ],
        ),
        (
            ProcessorType.PERSON,
            "persons",
            [
                "externalId,firstName,birthDate,gender",
                "P1,Ada,1915-12-10,F",
                "P2,Bob,0000-01-01,M",
                "P3,Cy,," + "x" * 21,
                PAD,
                "P4,D\x00an,,",
            ],
            [
                (3, "birthDate", "DateOutOfRange"),
                (4, "gender", "ValueTooLong"),
                (5 + PADDING, "firstName", "InvalidCharacter"),
            ],
        ),
        (
            ProcessorType.COMPANY,
            "companies",
            [
                "externalId,name,postalCode",
                "C1,Acme,28001",
                "C2,Beta," + "9" * 21,
                PAD,
                "C3\x00,Gamma,",
            ],
            [(3, "postalCode", "ValueTooLong"), (4 + PADDING, "externalId", "InvalidCharacter")],
        ),
        (
            ProcessorType.PHYSICAL_LOCATION,
            "physicalLocations",
            [
                "code,name,latitude,longitude",
                "L1,Depot,40.4168,-3.7038",
                "L2,Far,1e15,0",
                "L3," + "n" * 501 + ",0,0",
                PAD,
                "L4,Na\x00me,0,0",
            ],
            [
                (3, "latitude", "OutOfRange"),
                (4, "name", "ValueTooLong"),
                (5 + PADDING, "name", "InvalidCharacter"),
            ],
        ),
    ],
)
async def test_each_processor_imports_the_good_rows_of_a_hostile_file(
    app_client: AppClient,
    processor_type: int,
    resource: str,
    lines: list[str],
    expected: list[tuple[int, str, str]],
) -> None:
    app, http = app_client
    partner, client = await _callers(app, http)
    rejected = len(lines) - 3  # all but the header, the good row and the padding

    imported = await partner.upload(processor_type, _csv(*lines))

    assert (imported["state"], imported["rowsOk"], imported["rowsWithErrors"]) == ("imported", 1, rejected)
    assert await partner.errors(imported) == expected
    served = await _served(client, f"/{resource}")
    assert len(served) == 1
    assert served == await _served(client, f"/importFiles/{imported['id']}/{resource}")


# --- the class of attack: whatever a processor accepts is stored and served on both databases ------------

HOSTILE = [
    "0000-01-01",
    "1899-12-31",
    "1900-01-01",
    "2199-12-31",
    "2200-01-01",
    "9999-12-31",
    "2024-02-29",
    "1e15",
    "1e14",
    "99999999999999.98",
    "-99999999999999.99",
    "1e400",
    "-1e-320",
    "4.9e-324",
    "0.0000005",
    "12,5",
    "-0",
    "1E+13",
    "nan",
    "inf",
    "\x00",
    "a\x00b",
    "x" * 1001,
    "é" * 201,
    "😀" * 101,
    '"',
    "\\.",
    "\\N",
    "\r\n",
    "\u2028",
    "\ufeff",
    " ",
    "null",
]
cells = st.one_of(
    st.sampled_from(HOSTILE),
    st.sampled_from(HOSTILE),
    st.sampled_from(HOSTILE),
    st.text(max_size=12),
    st.dates().map(lambda day: day.isoformat()),
    st.floats().map(repr),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(HOSTILE).flatmap(lambda value: st.text(max_size=3).map(lambda extra: value + extra)),
)
# The column that keys each layout's record, given a distinct prefix so no row replaces another.
KEY_COLUMNS = {
    ProcessorType.PARTNER_SALES: "transactionId",
    ProcessorType.PARTNER_STOCK: "partnerSkuCode",
    ProcessorType.PERSON: "externalId",
    ProcessorType.COMPANY: "externalId",
    ProcessorType.PHYSICAL_LOCATION: "code",
}
RESOURCE_OF = {
    ProcessorType.PARTNER_SALES: "partnerSales",
    ProcessorType.PARTNER_STOCK: "partnerStock",
    ProcessorType.PERSON: "persons",
    ProcessorType.COMPANY: "companies",
    ProcessorType.PHYSICAL_LOCATION: "physicalLocations",
}


@st.composite
def hostile_files(draw: st.DrawFn) -> tuple[int, list[list[str]]]:
    """A layout and its rows (header first), each cell hostile or plausible."""
    processor_type = draw(st.sampled_from(list(KEY_COLUMNS)))
    columns = list(processor_for(processor_type).columns)
    rows = draw(st.lists(st.fixed_dictionaries({name: cells for name in columns}), min_size=1, max_size=6))
    key = KEY_COLUMNS[processor_type]
    values = [
        [f"{n}|{row[name]}" if name == key else row[name] for name in columns] for n, row in enumerate(rows)
    ]
    return processor_type, [columns, *values]


def _content(rows: list[list[str]]) -> bytes:
    """The rows as CSV, the data past the first 64 KB, where a NUL costs its row, not the file."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows[0])
    out.write("\n" * PADDING)
    writer.writerows(rows[1:])
    return out.getvalue().encode()


def _expected(processor_type: int, content: bytes, tmp_path: Path) -> list[dict[str, Any]]:
    """The records the processor accepts from the file, read the way an upload reads it."""
    path = tmp_path / "expected.csv"
    path.write_bytes(content)
    _info, batches = processor_for(processor_type).read(path, ProcessOptions())
    return [record for batch in batches for record in batch.records.to_pylist()]


def _same(served: Any, stored: Any, scale: int | None) -> bool:
    if stored is None:
        return served is None
    if isinstance(stored, date):
        return bool(served == stored.isoformat())
    if isinstance(stored, float):
        assert scale is not None
        return math.isclose(served, stored, rel_tol=1e-12, abs_tol=10.0**-scale)
    return bool(served == stored)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(file=hostile_files())
async def test_whatever_a_processor_accepts_is_stored_and_served(
    app_client: AppClient, tmp_path: Path, file: tuple[int, list[list[str]]]
) -> None:
    app, http = app_client
    partner, client = await _hostile_callers(app, http)
    processor_type, rows = file
    content = _content(rows)
    expected = _expected(processor_type, content, tmp_path)

    imported = await partner.upload(processor_type, content)

    assert imported["state"] == "imported", imported
    assert imported["rowsOk"] == len(expected)
    resource = RESOURCES[RESOURCE_OF[processor_type]]
    served = sorted(
        await _served(client, f"/importFiles/{imported['id']}/{resource.name}"), key=lambda row: row["line"]
    )
    assert [row["line"] for row in served] == [record["line"] for record in expected]
    table = resource.model.__table__
    for row, record in zip(served, expected, strict=True):
        for field in resource.fields:
            if field.column in record and field.column != "line":
                scale = getattr(table.columns[field.column].type, "scale", None)
                assert _same(row.get(field.name), record[field.column], scale), (field.name, row, record)
    await _served(client, f"/{resource.name}")
    await _served(client, f"/importFiles/{imported['id']}/importErrors")


async def _hostile_callers(app: FastAPI, http: httpx.AsyncClient) -> tuple[Partner, IntegrationClient]:
    """One tenant per app, made on the first example."""
    callers: tuple[Partner, IntegrationClient] | None = getattr(app.state, "hostile_callers", None)
    if callers is None:
        callers = app.state.hostile_callers = await _callers(app, http)
    return callers
