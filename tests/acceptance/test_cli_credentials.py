"""The operator's credential commands, as a script would run them: ``--json`` and one JSON object out."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import structlog

from headwater.cli import app
from tests.conftest import SECRET_KEY, make_settings, running_app
from tests.integration.partner_support import SEED_REQUEST
from tests.support.cli import JsonCli


class Cli(JsonCli):
    """The commands on one SQLite file of the test's own."""

    def __init__(self, url: str) -> None:
        super().__init__({"HEADWATER_SECRET_KEY": SECRET_KEY, "HEADWATER_DATABASE_URL": url})
        self.url = url


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    cli = Cli(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    cli("migrate")
    return cli


def test_tenants_are_created_and_listed(cli: Cli) -> None:
    created = cli("tenant", "create", "acme")
    assert created["name"] == "acme" and isinstance(created["id"], int)
    cli("tenant", "create", "globex")
    assert [t["name"] for t in cli("tenant", "list")["tenants"]] == ["acme", "globex"]


def test_a_duplicate_tenant_is_a_clear_error(cli: Cli) -> None:
    cli("tenant", "create", "acme")
    error = cli("tenant", "create", "acme", code=1)
    assert error["error"]["code"] == "Conflict"
    assert "acme" in error["error"]["message"]


def test_an_unknown_tenant_is_a_clear_error(cli: Cli) -> None:
    for args in (
        ("touchpoint", "create", "--tenant", "nobody", "--code", "web"),
        ("partner", "create", "--tenant", "nobody", "--principal", "ada"),
    ):
        error = cli(*args, code=1)
        assert error["error"]["code"] == "NotFound"
        assert "nobody" in error["error"]["message"]


def test_duplicates_and_bad_values_of_touchpoints_and_partners_are_refused(cli: Cli) -> None:
    cli("tenant", "create", "acme")
    cli("touchpoint", "create", "--tenant", "acme", "--code", "web")
    assert (
        cli("touchpoint", "create", "--tenant", "acme", "--code", "web", code=1)["error"]["code"]
        == "Conflict"
    )
    bad_code = cli("touchpoint", "create", "--tenant", "acme", "--code", "has space", code=1)
    assert bad_code["error"]["code"] == "ValidationFailed"
    cli("partner", "create", "--tenant", "acme", "--principal", "ada")
    assert (
        cli("partner", "create", "--tenant", "acme", "--principal", "ada", code=1)["error"]["code"]
        == "Conflict"
    )
    short = cli("partner", "create", "--tenant", "acme", "--principal", "bob", "--password", "short", code=1)
    assert short["error"]["code"] == "ValidationFailed"


def test_a_given_password_is_not_printed_and_a_generated_one_is(cli: Cli) -> None:
    cli("tenant", "create", "acme")
    given = cli(
        "partner", "create", "--tenant", "acme", "--principal", "ada", "--password", "analytical engine"
    )
    assert "password" not in given
    generated = cli("partner", "create", "--tenant", "acme", "--principal", "bob")
    assert len(generated["password"]) >= 16


def test_what_the_commands_print_is_enough_to_use_the_partner_api(cli: Cli, tmp_path: Path) -> None:
    cli("tenant", "create", "acme")
    touchpoint = cli("touchpoint", "create", "--tenant", "acme", "--code", "test")
    partner = cli("partner", "create", "--tenant", "acme", "--principal", "ada")

    async def use_the_api() -> int:
        settings = make_settings(tmp_path, cli.url)
        async with running_app(settings) as (_, client):
            query = {"touchpoint": touchpoint["code"], "token": touchpoint["token"]}
            logged_in = await client.post(
                "/api/v4/login", params=query, json={"principal": "ada", "password": partner["password"]}
            )
            assert logged_in.status_code == 200, logged_in.text
            created = await client.post("/api/v4/partner/datasources", params=query, json=SEED_REQUEST)
            return created.status_code

    assert asyncio.run(use_the_api()) == 201


def test_serve_prints_the_first_start_credentials_once(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    served: list[tuple[str, int]] = []
    # Only the server loop is left out: the test is about what happens before it starts.
    monkeypatch.setattr("uvicorn.run", lambda app, host, port, **_: served.append((host, port)))
    try:
        first = cli.runner.invoke(app, ["serve", "--port", "8123"])
        second = cli.runner.invoke(app, ["serve", "--port", "8123"])
    finally:
        structlog.reset_defaults()
    assert first.exit_code == 0 and second.exit_code == 0, first.stderr
    assert served == [("127.0.0.1", 8123)] * 2
    assert "first start" in first.stdout
    assert "http://127.0.0.1:8123/api/v4/login?touchpoint=default&token=" in first.stdout
    assert "first start" not in second.stdout
    assert [t["name"] for t in cli("tenant", "list")["tenants"]] == ["default"]
