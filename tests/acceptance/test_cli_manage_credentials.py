"""Lost or leaked credentials are replaced from the command line: list, rotate, reset, revoke."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from headwater.access import auth
from headwater.runtime import open_runtime
from headwater.settings import Settings
from tests.support.cli import headwater_process, headwater_process_json

ISO_MILLIS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


class Installation:
    """A directory where ``headwater migrate`` made the store and the key, as an operator would."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.settings = Settings(
            database_url=f"sqlite+aiosqlite:///{home / 'headwater.db'}",
            secret_key_file=home / "headwater.key",
        )

    def __call__(self, *args: str, code: int = 0) -> dict[str, Any]:
        return headwater_process_json(self.home, *args, code=code)

    def touchpoint_works(self, code: str, token: str) -> bool:
        async def check() -> bool:
            async with open_runtime(self.settings, create=False) as runtime:
                try:
                    await auth.authenticate_touchpoint(
                        runtime.db, runtime.box, runtime.guard, code, token, address="127.0.0.1"
                    )
                except auth.InvalidTouchpoint:
                    return False
                return True

        return asyncio.run(check())

    def password_works(self, principal: str, password: str) -> bool:
        async def check() -> bool:
            async with open_runtime(self.settings, create=False) as runtime:
                tenant_id = 1
                try:
                    await auth.partner_from_basic(
                        runtime.db, runtime.box, runtime.guard, tenant_id, principal, password, address="127.0.0.1"
                    )
                except auth.InvalidCredentials:
                    return False
                return True

        return asyncio.run(check())


@pytest.fixture
def installed(tmp_path: Path) -> Installation:
    installation = Installation(tmp_path)
    installation("migrate")
    installation("tenant", "create", "acme")
    return installation


def assert_times(shown: dict[str, Any]) -> None:
    for name, value in shown.items():
        if name.endswith("At") and value is not None:
            assert ISO_MILLIS.match(value), (name, value)


def test_a_partners_password_is_reset_and_the_partner_revoked(installed: Installation) -> None:
    installed(
        "partner", "create", "--tenant", "acme", "--principal", "ada", "--password", "analytical engine"
    )
    listed = installed("partner", "list", "--tenant", "acme")["partners"]
    assert [(p["principal"], p["revokedAt"]) for p in listed] == [("ada", None)]
    assert "password" not in listed[0] and "passwordHash" not in listed[0]
    assert_times(listed[0])

    reset = installed("partner", "reset-password", "--tenant", "acme", "--principal", "ada")
    assert reset["principal"] == "ada" and reset["sessionsEnded"] == 0
    assert len(reset["password"]) >= 16
    assert installed.password_works("ada", reset["password"])
    assert not installed.password_works("ada", "analytical engine")

    chosen = installed(
        "partner",
        "reset-password",
        "--tenant",
        "acme",
        "--principal",
        "ada",
        "--password",
        "difference engine",
    )
    assert "password" not in chosen
    assert installed.password_works("ada", "difference engine")

    revoked = installed("partner", "revoke", "--tenant", "acme", "--principal", "ada")
    assert_times(revoked)
    assert revoked["revokedAt"] is not None
    assert not installed.password_works("ada", "difference engine")
    assert (
        installed("partner", "list", "--tenant", "acme")["partners"][0]["revokedAt"] == revoked["revokedAt"]
    )


def test_a_touchpoints_token_is_rotated_and_the_touchpoint_revoked(installed: Installation) -> None:
    first = installed("touchpoint", "create", "--tenant", "acme", "--code", "web")["token"]
    rotated = installed("touchpoint", "rotate", "--tenant", "acme", "--code", "web")
    assert rotated["token"] != first
    assert_times(rotated)
    assert not installed.touchpoint_works("web", first)
    assert installed.touchpoint_works("web", rotated["token"])

    listed = installed("touchpoint", "list", "--tenant", "acme")["touchpoints"]
    assert [(t["code"], t["revokedAt"]) for t in listed] == [("web", None)]
    assert "token" not in listed[0]

    revoked = installed("touchpoint", "revoke", "--tenant", "acme", "--code", "web")
    assert revoked["revokedAt"] is not None
    assert not installed.touchpoint_works("web", rotated["token"])


def test_unknown_partners_and_touchpoints_are_clear_errors(installed: Installation) -> None:
    for args in (
        ("partner", "revoke", "--tenant", "acme", "--principal", "nobody"),
        ("partner", "reset-password", "--tenant", "acme", "--principal", "nobody"),
        ("touchpoint", "rotate", "--tenant", "acme", "--code", "nothing"),
        ("touchpoint", "list", "--tenant", "nowhere"),
    ):
        assert installed(*args, code=1)["error"]["code"] == "NotFound", args


def test_keys_and_clients_are_listed_without_their_secrets(installed: Installation) -> None:
    api_key = installed("apikey", "create", "--tenant", "acme")["key"]
    area_key = installed("area-key", "create", "--tenant", "acme")
    client = installed("client", "create", "--tenant", "acme")

    done = headwater_process(installed.home, "apikey", "list", "--tenant", "acme", "--json")
    assert api_key not in done.stdout
    (listed_key,) = installed("apikey", "list", "--tenant", "acme")["apiKeys"]
    assert listed_key["key"].startswith(api_key[:12]) and listed_key["key"].endswith("********")
    assert listed_key["revokedAt"] is None

    done = headwater_process(installed.home, "area-key", "list", "--tenant", "acme", "--json")
    assert area_key["apiKey"] not in done.stdout
    revoked = installed("area-key", "revoke", str(area_key["id"]), "--tenant", "acme")
    assert revoked["id"] == area_key["id"] and revoked["revokedAt"] is not None
    (listed_area_key,) = installed("area-key", "list", "--tenant", "acme")["areaKeys"]
    assert listed_area_key["revokedAt"] == revoked["revokedAt"]
    assert_times(listed_area_key)

    done = headwater_process(installed.home, "client", "list", "--tenant", "acme", "--json")
    assert client["clientSecret"] not in done.stdout
    (listed_client,) = installed("client", "list", "--tenant", "acme")["clients"]
    assert listed_client["clientId"] == client["clientId"] and listed_client["granted"] == ["acme"]
    assert_times(listed_client)


def test_lists_print_a_table_without_json(installed: Installation) -> None:
    installed("partner", "create", "--tenant", "acme", "--principal", "ada")
    done = headwater_process(installed.home, "partner", "list", "--tenant", "acme", env={"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "ada" in done.stdout and "principal" in done.stdout
