"""``headwater apikey create`` and ``headwater apikey revoke``, as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from headwater.access import apikeys
from headwater.access.apikeys import InvalidApiKey
from headwater.runtime import open_runtime
from headwater.settings import Settings
from tests.support.cli import cli_settings, headwater, headwater_json

ISO_MILLIS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return cli_settings(tmp_path, monkeypatch, "acme", "other")


def tenant_of(settings: Settings, key: str) -> int:
    async def authenticate() -> int:
        async with open_runtime(settings, migrate_first=False) as runtime, runtime.db.session() as session:
            return await apikeys.authenticate(session, runtime.box, key)

    return asyncio.run(authenticate())


def create_key(settings: Settings) -> dict[str, Any]:
    return headwater_json(settings, "apikey", "create", "--tenant", "acme")


def test_create_prints_one_json_object_with_a_key_that_authenticates(settings: Settings) -> None:
    shown = create_key(settings)
    assert set(shown) == {"tenant", "key", "prefix", "createdAt"}
    assert shown["tenant"] == "acme"
    assert shown["key"].startswith("hwk_")
    assert shown["key"].startswith(shown["prefix"])
    assert len(shown["prefix"]) < len(shown["key"])
    assert ISO_MILLIS.match(shown["createdAt"])
    assert tenant_of(settings, shown["key"]) >= 1


def test_each_create_issues_a_different_key(settings: Settings) -> None:
    assert create_key(settings)["key"] != create_key(settings)["key"]


def test_create_without_json_prints_the_key_in_a_table(settings: Settings) -> None:
    code, out = headwater(settings, "apikey", "create", "--tenant", "acme")
    assert code == 0
    assert "hwk_" in out
    assert "shown only this once" in out


def test_create_for_an_unknown_tenant_fails_with_a_clear_error(settings: Settings) -> None:
    code, out = headwater(settings, "apikey", "create", "--tenant", "nobody", "--json")
    assert code != 0
    assert json.loads(out) == {"error": {"code": "NotFound", "message": "Tenant nobody not found"}}


def test_revoke_prints_what_was_revoked_and_the_key_stops_working(settings: Settings) -> None:
    key = create_key(settings)["key"]
    code, out = headwater(settings, "apikey", "revoke", key, "--json")
    assert code == 0, out
    shown = json.loads(out)
    assert set(shown) == {"tenant", "prefix", "revokedAt"}
    assert shown["tenant"] == "acme"
    assert key.startswith(shown["prefix"])
    assert ISO_MILLIS.match(shown["revokedAt"])
    assert key not in out
    with pytest.raises(InvalidApiKey):
        tenant_of(settings, key)


def test_revoke_reads_the_key_from_standard_input(settings: Settings) -> None:
    key = create_key(settings)["key"]
    code, out = headwater(settings, "apikey", "revoke", "-", "--json", stdin=key + "\n")
    assert code == 0, out
    with pytest.raises(InvalidApiKey):
        tenant_of(settings, key)


def test_revoking_twice_keeps_the_first_revocation(settings: Settings) -> None:
    key = create_key(settings)["key"]
    first = json.loads(headwater(settings, "apikey", "revoke", key, "--json")[1])
    code, out = headwater(settings, "apikey", "revoke", key, "--json")
    assert code == 0
    assert json.loads(out)["revokedAt"] == first["revokedAt"]


def test_revoke_of_an_unknown_key_fails_without_echoing_it(settings: Settings) -> None:
    create_key(settings)
    code, out = headwater(settings, "apikey", "revoke", "hwk_mistyped-secret", "--json")
    assert code != 0
    assert json.loads(out) == {"error": {"code": "NotFound", "message": "API key not found"}}
    assert "mistyped" not in out


def test_revoke_by_id_needs_no_secret_and_only_finds_the_tenants_own_key(settings: Settings) -> None:
    key = create_key(settings)["key"]
    [listed] = json.loads(headwater(settings, "apikey", "list", "--tenant", "acme", "--json")[1])["apiKeys"]

    code, out = headwater(settings, "apikey", "revoke", "--id", str(listed["id"]), "--tenant", "other", "--json")
    assert code != 0 and json.loads(out)["error"]["code"] == "NotFound"
    tenant_of(settings, key)  # still good

    code, out = headwater(settings, "apikey", "revoke", "--id", str(listed["id"]), "--tenant", "acme", "--json")
    assert code == 0, out
    assert json.loads(out)["tenant"] == "acme"
    with pytest.raises(InvalidApiKey):
        tenant_of(settings, key)


def test_revoke_wants_the_key_or_its_id_with_a_tenant(settings: Settings) -> None:
    assert headwater(settings, "apikey", "revoke", "--json")[0] == 2
    assert headwater(settings, "apikey", "revoke", "--id", "1", "--json")[0] == 2
    assert headwater(settings, "apikey", "revoke", "hwk_x", "--id", "1", "--tenant", "acme", "--json")[0] == 2
