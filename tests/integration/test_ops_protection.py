"""/metrics behind a token, or on an address of its own; the SQLite store private to its owner; SQL
parameters never in the logs."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from headwater.logging import configure_logging
from headwater.runtime import open_runtime
from headwater.store import migrate
from tests.conftest import make_settings, running_app
from tests.integration.worker_support import WorkerProcess, wait_until
from tests.support.services import free_port

TOKEN = "metrics-token-0123456789"


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}"


async def test_metrics_need_the_token_when_one_is_set(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, sqlite_url(tmp_path), metrics_token=TOKEN)
    async with running_app(settings) as (_app, client):
        missing = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        right = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.headers["www-authenticate"] == "Bearer"
    assert right.status_code == 200
    assert "headwater_http_requests_total" in right.text


async def test_metrics_can_be_served_on_an_address_of_their_own(tmp_path: Path) -> None:
    port = free_port()
    settings = make_settings(
        tmp_path, sqlite_url(tmp_path), metrics_host="127.0.0.1", metrics_port=port, metrics_token=TOKEN
    )
    async with running_app(settings) as (app, client):
        assert app.state.metrics_address == ("127.0.0.1", port)
        on_the_api = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as metrics_client:
            without_token = await metrics_client.get("/metrics")
            with_token = await metrics_client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            elsewhere = await metrics_client.get("/healthz")

    assert on_the_api.status_code == 404
    assert without_token.status_code == 401
    assert with_token.status_code == 200 and "headwater_rows" in with_token.text
    assert elsewhere.status_code == 404
    with pytest.raises(httpx.ConnectError):  # closed with the app
        async with httpx.AsyncClient() as late:
            await late.get(f"http://127.0.0.1:{port}/metrics")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_sqlite_store_and_its_wal_files_are_private_to_their_owner(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, sqlite_url(tmp_path))
    async with open_runtime(settings) as runtime:
        async with runtime.db.session() as session:
            await session.execute(text("CREATE TABLE scratch_rows (n INTEGER)"))
            await session.execute(text("INSERT INTO scratch_rows VALUES (1)"))
        store = tmp_path / "headwater.db"
        files = [store, Path(f"{store}-wal"), Path(f"{store}-shm")]
        assert all(path.exists() for path in files)
        assert {path.name: mode_of(path) for path in files} == {path.name: 0o600 for path in files}


async def test_an_existing_store_is_made_private_when_migrated(tmp_path: Path) -> None:
    store = tmp_path / "headwater.db"
    store.touch(mode=0o644)
    store.chmod(0o644)

    migrate.upgrade(sqlite_url(tmp_path))

    assert mode_of(store) == 0o600


async def test_debug_logging_shows_no_sql_parameter_values(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "hunter2-parameter-value"
    settings = make_settings(tmp_path, sqlite_url(tmp_path), log_level="DEBUG")
    quieted = [logging.getLogger(name) for name in ("sqlalchemy.engine", "aiosqlite")]
    before = [logger.level for logger in quieted]
    try:
        configure_logging(settings)
        caplog.set_level(logging.DEBUG)
        async with open_runtime(settings) as runtime:
            async with runtime.db.session() as session:
                await session.execute(text("CREATE TABLE notes (body TEXT)"))
                await session.execute(text("INSERT INTO notes VALUES (:body)"), {"body": secret})
                assert (await session.scalar(text("SELECT body FROM notes"))) == secret
    finally:
        for logger, level in zip(quieted, before, strict=True):
            logger.setLevel(level)

    assert "INSERT INTO notes" in caplog.text  # statements are logged at DEBUG ...
    assert secret not in caplog.text  # ... their values never, neither as parameters nor as rows


@pytest.mark.postgres
async def test_a_workers_metrics_need_the_token_too(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("HEADWATER_METRICS_TOKEN", TOKEN)
    worker = WorkerProcess(postgres_url, tmp_path / "worker.log", extra=["--metrics-port", str(port)])
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as metrics_client:

            async def serving() -> bool:
                try:
                    await metrics_client.get("/metrics")
                except httpx.ConnectError:
                    return False
                return True

            await wait_until(serving, "the worker's metrics server", workers=[worker])
            without_token = await metrics_client.get("/metrics")
            with_token = await metrics_client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    finally:
        worker.stop()

    assert without_token.status_code == 401
    assert with_token.status_code == 200 and "headwater_rows" in with_token.text
