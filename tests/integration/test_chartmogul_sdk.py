"""ChartMogul's own Python client, unchanged, against a live headwater on loopback.

Every call goes through the SDK's marshmallow schemas, so a response they cannot load fails the test.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import chartmogul
import pytest
import requests
import uvicorn

from headwater import sources
from headwater.access import apikeys
from headwater.access.crypto import load_secret_box
from headwater.api.app import create_app
from headwater.clock import utcnow
from headwater.ingest.connectors.hosts import HostPolicy
from headwater.settings import Settings
from headwater.store.database import Database
from headwater.store.tables import Tenant, Touchpoint
from tests.conftest import make_settings

PULL_SOURCE = {
    "name": "Partner drop",
    "host": "sftp.example.com",
    "user": "partner",
    "password": "secret",
    "workingDirectory": "/outgoing",
    "processorType": 25012,
    "authenticationType": "PASSWORD",
    "dataSourceType": "SFTP",
    "touchpointCode": "drop",
}


@dataclass(frozen=True)
class LiveHeadwater:
    settings: Settings
    uri: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHeadwater]:
    """headwater served by uvicorn in a background thread, on a loopback port of its own."""
    tmp_path: Path = tmp_path_factory.mktemp("chartmogul-sdk")
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(create_app(settings), lifespan="on", log_level="warning", ws="none", http="h11")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            pytest.fail("headwater did not start")
        time.sleep(0.02)
    try:
        yield LiveHeadwater(settings=settings, uri=f"http://127.0.0.1:{port}/v1")
    finally:
        server.should_exit = True
        thread.join()
        listener.close()


async def _provision(settings: Settings, with_pull_source: bool) -> str:
    database = Database(settings.database_url)
    box = load_secret_box(settings, create=False)
    try:
        async with database.session() as session:
            tenant = Tenant(name=f"tenant-{uuidlib.uuid4().hex[:8]}", created_at=utcnow())
            session.add(tenant)
            await session.flush()
            if with_pull_source:
                session.add(
                    Touchpoint(
                        tenant_id=tenant.id,
                        code="drop",
                        token_digest=f"digest-{tenant.id}",
                        token_hash="unused",
                        created_at=utcnow(),
                    )
                )
                await session.flush()
                await sources.create_pull_source(
                    session, tenant.id, PULL_SOURCE, box, hosts=HostPolicy(allow_private=True)
                )
            issued = await apikeys.issue(session, box, tenant.id)
        return issued.key
    finally:
        await database.dispose()


def new_config(live: LiveHeadwater, *, with_pull_source: bool = False) -> chartmogul.Config:
    """A client configuration for a fresh tenant, exactly as ChartMogul's documentation builds one."""
    key = asyncio.run(_provision(live.settings, with_pull_source))
    config = chartmogul.Config(key)
    config.uri = live.uri
    return config


@pytest.fixture
def config(live: LiveHeadwater) -> chartmogul.Config:
    return new_config(live)


def api_error_body(error: chartmogul.APIError) -> object:
    """The SDK raises ``APIError(response body)`` from the ``requests.HTTPError``."""
    content = error.args[0]
    assert isinstance(content, bytes)
    return json.loads(content)


def status_of(error: chartmogul.APIError) -> int:
    cause = error.__cause__
    assert isinstance(cause, requests.HTTPError) and cause.response is not None
    return cause.response.status_code


def test_ping_answers_pong(config: chartmogul.Config) -> None:
    pong = chartmogul.Ping.ping(config).get()
    assert pong.data == "pong!"


def test_create_gives_a_custom_idle_source(config: chartmogul.Config) -> None:
    source = chartmogul.DataSource.create(config, data={"name": "In-house billing"}).get()
    assert isinstance(source, chartmogul.DataSource)
    assert source.uuid.startswith("ds_")
    assert source.name == "In-house billing"
    assert source.system == "Custom"
    assert source.status == "idle"
    assert isinstance(source.created_at, datetime)
    assert source.created_at.utcoffset() == timedelta(0)


def test_list_filters_by_name_and_system(live: LiveHeadwater) -> None:
    config = new_config(live, with_pull_source=True)
    billing = chartmogul.DataSource.create(config, data={"name": "Billing"}).get()
    chartmogul.DataSource.create(config, data={"name": "Refunds"}).get()

    everything = chartmogul.DataSource.all(config).get()
    assert [s.name for s in everything.data_sources] == ["Partner drop", "Billing", "Refunds"]
    by_name = chartmogul.DataSource.all(config, name="Billing").get()
    assert [s.uuid for s in by_name.data_sources] == [billing.uuid]
    custom = chartmogul.DataSource.all(config, system="Custom").get()
    assert [s.name for s in custom.data_sources] == ["Billing", "Refunds"]
    pulled = chartmogul.DataSource.all(config, system="SFTP").get()
    assert [(s.name, s.system) for s in pulled.data_sources] == [("Partner drop", "SFTP")]


def test_list_with_every_flag_loads_the_extra_objects(config: chartmogul.Config) -> None:
    chartmogul.DataSource.create(config, data={"name": "Billing"}).get()
    listed = chartmogul.DataSource.all(
        config,
        with_processing_status=True,
        with_auto_churn_subscription_setting=True,
        with_invoice_handling_setting=True,
    ).get()
    (source,) = listed.data_sources
    assert (source.processing_status.processed, source.processing_status.failed) == (0, 0)
    assert source.processing_status.pending == 0
    assert source.auto_churn_subscription_setting.enabled is False
    assert source.auto_churn_subscription_setting.interval is None
    assert set(source.invoice_handling_setting) == {"manual", "automatic"}


@pytest.mark.parametrize(
    ("flag", "attribute"),
    [
        ("with_processing_status", "processing_status"),
        ("with_auto_churn_subscription_setting", "auto_churn_subscription_setting"),
        ("with_invoice_handling_setting", "invoice_handling_setting"),
    ],
)
def test_each_flag_on_retrieve_adds_its_object(config: chartmogul.Config, flag: str, attribute: str) -> None:
    created = chartmogul.DataSource.create(config, data={"name": "Billing"}).get()
    plain = chartmogul.DataSource.retrieve(config, uuid=created.uuid).get()
    assert not hasattr(plain, attribute)
    flagged = chartmogul.DataSource.retrieve(config, uuid=created.uuid, **{flag: True}).get()
    assert getattr(flagged, attribute) is not None
    listed = chartmogul.DataSource.all(config, **{flag: True}).get()
    assert getattr(listed.data_sources[0], attribute) is not None


def test_retrieve_answers_the_created_source(config: chartmogul.Config) -> None:
    created = chartmogul.DataSource.create(config, data={"name": "Billing"}).get()
    retrieved = chartmogul.DataSource.retrieve(config, uuid=created.uuid).get()
    assert (retrieved.uuid, retrieved.name, retrieved.system, retrieved.status) == (
        created.uuid,
        "Billing",
        "Custom",
        "idle",
    )
    assert retrieved.created_at == created.created_at


def test_destroy_removes_the_source(config: chartmogul.Config) -> None:
    created = chartmogul.DataSource.create(config, data={"name": "Billing"}).get()
    assert chartmogul.DataSource.destroy(config, uuid=created.uuid).get() is None
    assert chartmogul.DataSource.all(config).get().data_sources == []


def test_a_wrong_key_raises_api_error_401(live: LiveHeadwater) -> None:
    config = chartmogul.Config("hwk_not-a-key")
    config.uri = live.uri
    with pytest.raises(chartmogul.APIError) as raised:
        chartmogul.Ping.ping(config).get()
    assert status_of(raised.value) == 401
    assert api_error_body(raised.value) == {
        "code": 401,
        "message": "No valid API key provided",
        "param": None,
    }


def test_an_unknown_source_raises_api_error_404(config: chartmogul.Config) -> None:
    with pytest.raises(chartmogul.APIError) as raised:
        chartmogul.DataSource.retrieve(config, uuid="ds_00000000-0000-4000-8000-000000000000").get()
    assert status_of(raised.value) == 404
    assert api_error_body(raised.value) == {"code": 404, "message": "Data source not found", "param": None}
    with pytest.raises(chartmogul.APIError):
        chartmogul.DataSource.destroy(config, uuid="ds_00000000-0000-4000-8000-000000000000").get()


def test_a_taken_or_empty_name_raises_api_error_422(config: chartmogul.Config) -> None:
    chartmogul.DataSource.create(config, data={"name": "Billing"}).get()
    with pytest.raises(chartmogul.APIError) as taken:
        chartmogul.DataSource.create(config, data={"name": "Billing"}).get()
    assert status_of(taken.value) == 422
    assert api_error_body(taken.value) == {"errors": {"name": "Has already been taken."}}
    with pytest.raises(chartmogul.APIError) as empty:
        chartmogul.DataSource.create(config, data={"name": ""}).get()
    assert api_error_body(empty.value) == {"errors": {"name": "A name is required for each data source."}}


def test_a_missing_name_raises_api_error_400(config: chartmogul.Config) -> None:
    with pytest.raises(chartmogul.APIError) as raised:
        chartmogul.DataSource.create(config, data={}).get()
    assert status_of(raised.value) == 400
    assert api_error_body(raised.value) == {
        "code": 400,
        "message": 'Parameter "name" is missing',
        "param": "name",
    }
