"""Fixtures that several integration modules share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import AppClient, runtime_of
from tests.integration.partner_support import Caller, provision
from tests.integration.worker_support import emptied_queue_and_tables


@pytest.fixture
def queue_url(postgres_url: str) -> Iterator[str]:
    """The run's PostgreSQL database with headwater's tables and the queue both empty."""
    with emptied_queue_and_tables(postgres_url):
        yield postgres_url


@pytest.fixture
async def caller(app_client: AppClient) -> Caller:
    """The partner API's caller of a tenant provisioned in the app under test."""
    app, _ = app_client
    return await provision(runtime_of(app))
