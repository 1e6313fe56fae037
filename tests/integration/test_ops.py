"""Health, readiness and Prometheus metrics, over the whole app."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from headwater.api.ops import dialect_of
from headwater.settings import Settings
from tests.conftest import make_settings, postgres_admin, running_app
from tests.support.services import free_port, require_redis

REDIS_URL = "redis://127.0.0.1:6379/0"


async def _requests_counted(client: httpx.AsyncClient) -> dict[tuple[str, str], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    counted: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "headwater_http_requests_total":
                counted[(sample.labels["dialect"], sample.labels["status"])] = sample.value
    return counted


async def test_healthz_answers_while_the_process_is_up(sqlite_settings: Settings) -> None:
    async with running_app(sqlite_settings) as (_app, client):
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_when_the_database_answers(
    app_client: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _app, client = app_client
    response = await client.get("/readyz")
    assert response.status_code == 200
    answer = response.json()
    assert (answer["status"], answer["checks"]) == ("ready", {"database": "ok", "redis": "not configured"})
    # The queue is reported in distributed mode only: on SQLite runs happen inside this process.
    assert ("queue" in answer) == _app.state.settings.is_postgres


@pytest.mark.redis
async def test_readyz_checks_redis_when_it_is_configured(tmp_path: Path) -> None:
    require_redis(REDIS_URL)
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'h.db'}", redis_url=REDIS_URL)
    async with running_app(settings) as (_app, client):
        response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_readyz_is_unavailable_when_redis_does_not_answer(tmp_path: Path) -> None:
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'h.db'}", redis_url=unreachable)
    async with running_app(settings) as (_app, client):
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "unreachable"},
    }


@pytest.mark.postgres
async def test_readyz_is_unavailable_when_the_database_is_gone(tmp_path: Path) -> None:
    name = f"headwater_gone_{uuid.uuid4().hex[:8]}"
    with postgres_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        settings = make_settings(tmp_path, f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
        try:
            async with running_app(settings) as (_app, client):
                assert (await client.get("/readyz")).status_code == 200
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                response = await client.get("/readyz")
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unreachable"


async def test_metrics_count_requests_by_dialect_and_status(sqlite_settings: Settings) -> None:
    async with running_app(sqlite_settings) as (_app, client):
        before = await _requests_counted(client)
        await client.get("/healthz")
        await client.get("/api/v4/no-such-endpoint")
        await client.get("/v1/no-such-endpoint")
        await client.get("/prod/no-such-endpoint")
        after = await _requests_counted(client)

    def grew(dialect: str, status: str) -> float:
        return after.get((dialect, status), 0) - before.get((dialect, status), 0)

    assert grew("ops", "200") == 2  # /healthz, and the first /metrics scrape
    assert grew("partner", "404") == 1
    assert grew("chartmogul", "404") == 1
    assert grew("integration", "404") == 1


async def test_metrics_expose_the_import_and_rate_limit_families(sqlite_settings: Settings) -> None:
    async with running_app(sqlite_settings) as (_app, client):
        response = await client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {
        "headwater_runs",
        "headwater_run_duration_seconds",
        "headwater_files",
        "headwater_rows",
        "headwater_http_requests",
        "headwater_rate_limit_rejections",
    } <= names


@pytest.mark.parametrize(
    ("path", "dialect"),
    [
        ("/api/v4/partner/datasources", "partner"),
        ("/api/v4", "partner"),
        ("/api/v40", "ops"),
        ("/v1/data_sources", "chartmogul"),
        ("/prod/areas", "integration"),
        ("/oauth2/token", "integration"),
        ("/production", "ops"),
        ("/metrics", "ops"),
    ],
)
def test_requests_are_attributed_to_their_dialect_by_path(path: str, dialect: str) -> None:
    assert dialect_of(path, "/prod") == dialect


@pytest.mark.parametrize("prefix", ["", "/prod"])
async def test_the_api_documentation_pages_load_every_asset_from_headwater_itself(
    sqlite_settings: Settings, prefix: str
) -> None:
    async with running_app(sqlite_settings) as (_app, client):
        page = await client.get(f"{prefix}/docs")
        assert page.status_code == 200
        assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
        assert f"{prefix}/openapi.json" in page.text
        assert assets, page.text
        for url in assets:
            assert url.startswith("/"), f"{url} is not served by headwater"
            loaded = await client.get(url)
            assert loaded.status_code == 200, url
            assert len(loaded.content) > 1000
