"""``headwater webhook``: create, list, rotate-secret, deliveries, redeliver and revoke, as an operator runs them."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from headwater.ingest.uploads import import_upload
from headwater.runtime import open_runtime
from headwater.settings import Settings
from headwater.store import credentials as tenant_store
from tests.support.cli import cli_settings, headwater, headwater_json

URL = "https://hooks.partner.example/in"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # The endpoints' host names are not real: only the private-address guard would look them up.
    monkeypatch.setenv("HEADWATER_ALLOW_PRIVATE_HOSTS", "true")
    return cli_settings(tmp_path, monkeypatch, "acme", "globex")


def upload(settings: Settings, tenant: str) -> None:
    async def work() -> None:
        async with open_runtime(settings, migrate_first=False) as runtime:
            async with runtime.db.session() as session:
                tenant_id = (await tenant_store.get_tenant_by_name(session, tenant)).id
            data = io.BytesIO(b"saleDate,transactionId,quantity,amount,partnerSkuCode\n2026-01-02,T1,1,1,S\n")
            await import_upload(
                runtime, tenant_id, source_id=None, name="s.csv", processor_type=25011, data=data
            )

    asyncio.run(work())


def test_an_operator_manages_a_tenants_endpoints_and_their_deliveries(settings: Settings) -> None:
    created = headwater_json(
        settings, "webhook", "create", "--tenant", "acme", "--url", URL, "--event", "file.imported"
    )
    assert created["secret"].startswith("whsec_") and created["events"] == ["file.imported"]
    endpoint = str(created["id"])

    assert [w["id"] for w in headwater_json(settings, "webhook", "list", "--tenant", "acme")["webhooks"]] == [
        created["id"]
    ]
    assert headwater_json(settings, "webhook", "list", "--tenant", "globex") == {"webhooks": []}
    assert "secret" not in headwater_json(settings, "webhook", "list", "--tenant", "acme")["webhooks"][0]

    rotated = headwater_json(settings, "webhook", "rotate-secret", endpoint)
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]

    upload(settings, "acme")
    upload(settings, "globex")
    [delivery] = headwater_json(settings, "webhook", "deliveries", endpoint)["deliveries"]
    assert (delivery["eventType"], delivery["state"], delivery["log"]) == ("file.imported", "pending", [])
    again = headwater_json(settings, "webhook", "redeliver", str(delivery["id"]))
    assert again == {"id": delivery["id"], "endpointId": created["id"], "state": "pending"}

    assert headwater_json(settings, "webhook", "revoke", endpoint)["revoked"] is True
    code, out = headwater(settings, "webhook", "deliveries", endpoint, "--json")
    assert code == 1 and '"NotFound"' in out


def test_a_bad_url_or_event_is_refused_with_its_code(settings: Settings) -> None:
    code, out = headwater(settings, "webhook", "create", "--tenant", "acme", "--url", "ftp://x/", "--json")
    assert code == 1 and "must be an http or https URL" in out
    code, out = headwater(
        settings, "webhook", "create", "--tenant", "acme", "--url", URL, "--event", "nope", "--json"
    )
    assert code == 1 and "is not an event type" in out
    code, out = headwater(settings, "webhook", "create", "--tenant", "nobody", "--url", URL, "--json")
    assert code == 1 and "NotFound" in out
