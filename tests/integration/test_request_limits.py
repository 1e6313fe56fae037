"""Request bodies are bounded: over the limit, each dialect answers 413 in its own style before reading the rest.

A real uvicorn server on loopback, spoken to over raw sockets: a request that declares a huge body gets its
answer although the body is never sent, and a chunked body gets its answer while the client still holds
the rest of it.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import structlog
from sqlalchemy import func, select

from headwater import metrics
from headwater.access import apikeys
from headwater.api.app import create_app
from headwater.runtime import Runtime, open_runtime
from headwater.settings import Settings
from headwater.store.tables import ImportFile
from tests.conftest import make_settings
from tests.integration.integration_support import PULL_SOURCE, IntegrationClient, add_area_key, add_client
from tests.support.live import serving
from tests.support.records import add_tenant
from tests.support.tenants import Tenancy, make_tenancy

BODY_LIMIT = 64 * 1024
UPLOAD_LIMIT = 256 * 1024
HUGE = 10 * 1024**3

PARTNER_TOO_LARGE = {"errors": {"request": "RequestTooLarge"}}
CHARTMOGUL_TOO_LARGE = {
    "code": 413,
    "message": f"The request body must not be larger than {BODY_LIMIT} bytes",
    "param": None,
}
INTEGRATION_TOO_LARGE = {"message": "Request Too Long"}
TOKEN_TOO_LARGE = {"error": "invalid_request", "error_description": "the request body is too large"}


@dataclass(frozen=True)
class Live:
    settings: Settings
    port: int


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp_path: Path = tmp_path_factory.mktemp("limits")
    settings = make_settings(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}",
        max_body_size=BODY_LIMIT,
        max_upload_size=UPLOAD_LIMIT,
    )
    with serving(create_app(settings)) as port:
        yield Live(settings, port)


@pytest.fixture
async def runtime(live: Live) -> AsyncIterator[Runtime]:
    """The live server's store, opened from the test's own event loop."""
    async with open_runtime(live.settings, migrate_first=False) as opened:
        yield opened


def exchange(port: int, head: Iterable[str], body: Iterable[bytes] = ()) -> Answer:
    """Send the request line and headers, then ``body`` (possibly not all of it), and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(("\r\n".join([*head, "Host: 127.0.0.1"]) + "\r\n\r\n").encode())
        for part in body:
            sock.sendall(part)
        response = http.client.HTTPResponse(sock)
        response.begin()
        content = response.read()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, headers, json.loads(content))


def chunks(total: int, size: int = 16 * 1024) -> Iterator[bytes]:
    """``total`` bytes in chunked framing, without the final zero-length chunk: the body never ends."""
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        yield f"{piece:x}\r\n".encode() + b"a" * piece + b"\r\n"
        sent += piece


def partner_head(method: str, path: str, tenancy: Tenancy, content_type: str) -> list[str]:
    basic = base64.b64encode(f"{tenancy.principal}:{tenancy.password}".encode()).decode()
    return [
        f"{method} /api/v4{path} HTTP/1.1",
        f"Thalamus-Touchpoint: {tenancy.touchpoint_code}",
        f"Thalamus-Token: {tenancy.touchpoint_token}",
        f"Authorization: Basic {basic}",
        f"Content-Type: {content_type}",
    ]


@pytest.mark.parametrize(
    ("path", "content_type", "expected"),
    [
        ("/api/v4/partner/datasources", "application/json", PARTNER_TOO_LARGE),
        ("/api/v4/import/file?type=25011", "multipart/form-data; boundary=x", PARTNER_TOO_LARGE),
        ("/v1/data_sources", "application/json", CHARTMOGUL_TOO_LARGE),
        ("/prod/dataSources", "application/json", INTEGRATION_TOO_LARGE),
        ("/prod/dataSources/1/importFiles?name=a.csv", "text/csv", INTEGRATION_TOO_LARGE),
        ("/oauth2/token", "application/x-www-form-urlencoded", TOKEN_TOO_LARGE),
    ],
)
def test_a_declared_body_over_the_limit_is_refused_in_the_dialects_style_before_it_is_sent(
    live: Live, path: str, content_type: str, expected: dict[str, Any]
) -> None:
    answer = exchange(
        live.port, [f"POST {path} HTTP/1.1", f"Content-Type: {content_type}", f"Content-Length: {HUGE}"]
    )

    assert (answer.status, answer.body) == (413, expected)
    assert answer.headers["connection"] == "close"


async def test_a_chunked_json_body_is_refused_once_it_passes_the_limit(live: Live, runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        tenant_id = await add_tenant(session, "chunked-json")
    key = await chartmogul_key(runtime, tenant_id)
    basic = base64.b64encode(f"{key}:".encode()).decode()

    answer = exchange(
        live.port,
        [
            "POST /v1/data_sources HTTP/1.1",
            f"Authorization: Basic {basic}",
            "Content-Type: application/json",
            "Transfer-Encoding: chunked",
        ],
        chunks(BODY_LIMIT + 1),
    )

    assert (answer.status, answer.body) == (413, CHARTMOGUL_TOO_LARGE)


def test_a_chunked_token_request_is_refused_once_it_passes_the_limit(live: Live) -> None:
    answer = exchange(
        live.port,
        [
            "POST /oauth2/token HTTP/1.1",
            "Content-Type: application/x-www-form-urlencoded",
            "Transfer-Encoding: chunked",
        ],
        chunks(BODY_LIMIT + 1),
    )

    assert (answer.status, answer.body) == (413, TOKEN_TOO_LARGE)


async def imported_files(runtime: Runtime, tenant_id: int) -> int:
    async with runtime.db.session() as session:
        query = select(func.count()).select_from(ImportFile).where(ImportFile.tenant_id == tenant_id)
        return int(await session.scalar(query) or 0)


async def test_a_chunked_multipart_upload_is_refused_at_the_upload_limit_and_nothing_is_imported(
    live: Live, runtime: Runtime
) -> None:
    tenancy = await make_tenancy(runtime, "chunked-upload", code="REST11")
    preamble = (
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="sales.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n"
    )

    answer = exchange(
        live.port,
        [
            *partner_head("POST", "/import/file?type=25011", tenancy, "multipart/form-data; boundary=x"),
            "Transfer-Encoding: chunked",
        ],
        [f"{len(preamble):x}\r\n".encode() + preamble + b"\r\n", *chunks(UPLOAD_LIMIT)],
    )

    assert (answer.status, answer.body) == (413, PARTNER_TOO_LARGE)
    assert await imported_files(runtime, tenancy.tenant_id) == 0


async def integration_source(live: Live, runtime: Runtime, tenant: str) -> tuple[int, int, dict[str, str]]:
    """A new tenant with a pull source made over the integration API: its id, the source's id, and the
    headers of an authenticated integration client."""
    async with runtime.db.session() as session:
        tenant_id = await add_tenant(session, tenant, touchpoint="shop")
    issued = await add_client(runtime, tenant)
    area_key = await add_area_key(runtime, tenant)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{live.port}") as http:
        client = IntegrationClient(http, issued.client_id, issued.secret, area_key)
        await client.authenticate()
        source_id = (await client.send("POST", "/dataSources", PULL_SOURCE))["id"]
        return tenant_id, source_id, client.headers


async def chartmogul_key(runtime: Runtime, tenant_id: int) -> str:
    async with runtime.db.session() as session:
        return (await apikeys.issue(session, runtime.box, tenant_id)).key


async def test_a_chunked_raw_upload_is_refused_at_the_upload_limit_in_the_integration_style(
    live: Live, runtime: Runtime
) -> None:
    tenant_id, source_id, headers = await integration_source(live, runtime, "raw-upload")

    answer = exchange(
        live.port,
        [
            f"POST /prod/dataSources/{source_id}/importFiles?name=big.csv HTTP/1.1",
            *(f"{name}: {value}" for name, value in headers.items()),
            "Content-Type: text/csv",
            "Transfer-Encoding: chunked",
        ],
        chunks(UPLOAD_LIMIT + 1),
    )

    assert (answer.status, answer.body) == (413, INTEGRATION_TOO_LARGE)
    assert await imported_files(runtime, tenant_id) == 0


async def test_an_upload_may_be_larger_than_a_json_body(live: Live, runtime: Runtime) -> None:
    tenancy = await make_tenancy(runtime, "big-upload", code="REST12")
    rows = b"".join(b"2026-01-05,7,SKU-%06d\n" % i for i in range(BODY_LIMIT // 20 + 1000))
    content = b"stockDate,quantity,partnerSkuCode\n" + rows
    assert BODY_LIMIT < len(content) < UPLOAD_LIMIT

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{live.port}/api/v4") as http:
        response = await http.post(
            "/import/file",
            params={"type": 25012},
            files={"file": ("stock.csv", content)},
            headers={
                "Thalamus-Touchpoint": tenancy.touchpoint_code,
                "Thalamus-Token": tenancy.touchpoint_token,
            },
            auth=(tenancy.principal, tenancy.password),
        )

    assert response.status_code == 200, response.text
    assert response.json()["rowsOk"] == BODY_LIMIT // 20 + 1000


async def test_a_json_body_under_the_limit_is_read_as_before(live: Live, runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        tenant_id = await add_tenant(session, "small-json")
    key = await chartmogul_key(runtime, tenant_id)

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{live.port}") as http:
        response = await http.post("/v1/data_sources", json={"name": "x" * 400}, auth=(key, ""))

    assert response.status_code == 201, response.text


async def test_a_token_request_of_many_tiny_fields_is_refused_without_parsing_them(live: Live) -> None:
    body = b"grant_type=client_credentials" + b"&a=b" * (BODY_LIMIT // 8)

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{live.port}") as http:
        response = await http.post(
            "/oauth2/token", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "more than 20 form fields"}


def _requests_counted(dialect: str, status: int) -> float:
    return (
        metrics.REGISTRY.get_sample_value(
            "headwater_http_requests_total", {"dialect": dialect, "status": str(status)}
        )
        or 0.0
    )


async def test_a_client_that_leaves_before_its_body_arrives_is_no_error_of_ours_in_any_dialect(
    live: Live, runtime: Runtime
) -> None:
    tenancy = await make_tenancy(runtime, "leaving", code="REST13")
    key = await chartmogul_key(runtime, tenancy.tenant_id)
    _, source_id, headers = await integration_source(live, runtime, "leaving-integration")
    integration = [f"{name}: {value}" for name, value in headers.items()]
    chartmogul = [f"Authorization: Basic {base64.b64encode(f'{key}:'.encode()).decode()}"]
    leaving = [
        ("partner", partner_head("POST", "/partner/datasources", tenancy, "application/json")),
        (
            "partner",
            partner_head("POST", "/import/file?type=25011", tenancy, "multipart/form-data; boundary=x"),
        ),
        ("chartmogul", ["POST /v1/data_sources HTTP/1.1", *chartmogul, "Content-Type: application/json"]),
        ("integration", ["POST /prod/dataSources HTTP/1.1", *integration, "Content-Type: application/json"]),
        (
            "integration",
            [
                f"POST /prod/dataSources/{source_id}/importFiles?name=a.csv HTTP/1.1",
                *integration,
                "Content-Type: text/csv",
            ],
        ),
        ("integration", ["POST /oauth2/token HTTP/1.1", "Content-Type: application/x-www-form-urlencoded"]),
    ]
    dialects = {dialect for dialect, _ in leaving}
    gone_before = {dialect: _requests_counted(dialect, 499) for dialect in dialects}
    failed_before = {dialect: _requests_counted(dialect, 500) for dialect in dialects}

    with structlog.testing.capture_logs() as logs:
        for _, head in leaving:
            with socket.create_connection(("127.0.0.1", live.port), timeout=20) as sock:
                sock.sendall(
                    ("\r\n".join([*head, "Host: 127.0.0.1", "Content-Length: 1000"]) + "\r\n\r\n").encode()
                )
                sock.sendall(b"--x\r\n" + b"a" * 100)
        with anyio.fail_after(20):
            while sum(_requests_counted(d, 499) - gone_before[d] for d in dialects) < len(leaving):
                await anyio.sleep(0.02)

    assert [entry["event"] for entry in logs if entry["event"] == "client_gone"] == ["client_gone"] * len(
        leaving
    )
    assert [entry for entry in logs if entry["log_level"] in ("error", "critical")] == []
    assert {d: _requests_counted(d, 500) for d in dialects} == failed_before
    assert await imported_files(runtime, tenancy.tenant_id) == 0
