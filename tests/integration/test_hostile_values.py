"""End to end on SQLite and PostgreSQL: a file's values the record tables cannot hold (a year 0, an amount
beyond the precision, a NUL, an over-long text) cost their rows only; the good rows import and every page
of both APIs still serves them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from headwater.domain import ProcessorType
from tests.integration.integration_support import IntegrationClient, connect, runtime_of
from tests.support.tenants import Tenancy, make_tenancy

AppClient = tuple[FastAPI, httpx.AsyncClient]

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
        return await self.http.request(method, "/api/v4" + path, headers=self.headers, auth=self.auth, **kwargs)

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
