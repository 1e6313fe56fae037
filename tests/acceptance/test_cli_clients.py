"""``headwater client`` and ``headwater area-key``, as an operator runs them, then used by an API client."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from headwater.settings import Settings
from tests.conftest import running_app
from tests.support.cli import cli_settings, headwater, headwater_json


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return cli_settings(tmp_path, monkeypatch, "acme", "globex")


def statuses(settings: Settings, client_id: str, secret: str, keys: list[str]) -> tuple[int, list[int]]:
    """The token server's status for these credentials, then GET /prod/dataSources's with each key."""

    async def call() -> tuple[int, list[int]]:
        async with running_app(settings) as (_app, http):
            answer = await http.post(
                "/oauth2/token",
                auth=httpx.BasicAuth(client_id, secret),
                data={"grant_type": "client_credentials"},
            )
            if answer.status_code != 200:
                return answer.status_code, []
            token = answer.json()["access_token"]
            found = []
            for key in keys:
                response = await http.get(
                    "/prod/dataSources", headers={"Authorization": f"Bearer {token}", "x-api-key": key}
                )
                found.append(response.status_code)
            return 200, found

    return asyncio.run(call())


def test_an_operator_issues_a_client_and_keys_that_work_together(settings: Settings) -> None:
    client = headwater_json(settings, "client", "create", "--tenant", "acme")
    assert client["clientId"].startswith("hwc_") and len(client["clientSecret"]) >= 40
    assert client["granted"] == ["acme"]
    acme_key = headwater_json(settings, "area-key", "create", "--tenant", "acme", "--per-second", "50")
    assert acme_key["apiKey"].startswith("hwx_") and acme_key["perSecond"] == 50
    assert acme_key["perDay"] == settings.rate_limit_per_day
    globex_key = headwater_json(settings, "area-key", "create", "--tenant", "globex")["apiKey"]

    assert statuses(
        settings, client["clientId"], client["clientSecret"], [acme_key["apiKey"], globex_key]
    ) == (
        200,
        [200, 403],
    )
    granted = headwater_json(settings, "client", "grant", client["clientId"], "--tenant", "globex")
    assert granted["granted"] == ["acme", "globex"]
    assert statuses(settings, client["clientId"], client["clientSecret"], [globex_key]) == (200, [200])

    revoked = headwater_json(settings, "client", "revoke", client["clientId"])
    assert revoked["clientId"] == client["clientId"] and revoked["revokedAt"]
    assert statuses(settings, client["clientId"], client["clientSecret"], [acme_key["apiKey"]]) == (401, [])


def test_a_client_may_be_granted_other_tenants_when_created(settings: Settings) -> None:
    client = headwater_json(settings, "client", "create", "--tenant", "acme", "--grant", "globex")
    assert client["granted"] == ["acme", "globex"]
    code, out = headwater(settings, "client", "create", "--tenant", "acme", "--grant", "nowhere", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "NotFound"


def test_mistakes_are_reported_without_a_traceback(settings: Settings) -> None:
    code, out = headwater(settings, "client", "revoke", "hwc_unknown", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "NotFound"
    code, out = headwater(settings, "area-key", "create", "--tenant", "nowhere", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "NotFound"
    code, _out = headwater(settings, "area-key", "create", "--tenant", "acme", "--per-day", "0")
    assert code == 2, "typer refuses a limit below 1"


def test_the_text_output_shows_the_secret_once_with_a_warning(settings: Settings) -> None:
    code, out = headwater(settings, "client", "create", "--tenant", "acme")
    assert code == 0 and "shown only once" in out and "clientSecret" in out
