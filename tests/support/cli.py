"""The ``headwater`` command as an operator runs it, against a migrated SQLite database of the test's own."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from headwater.cli import app
from headwater.runtime import open_runtime
from headwater.settings import Settings
from tests.conftest import SECRET_KEY, make_settings
from tests.support import records


def cli_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *tenants: str) -> Settings:
    """A migrated SQLite database holding ``tenants``; the CLI finds the same secret key."""
    monkeypatch.setenv("HEADWATER_SECRET_KEY", SECRET_KEY)
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}")

    async def add_tenants() -> None:
        async with open_runtime(settings) as runtime, runtime.db.session() as session:
            for name in tenants:
                await records.add_tenant(session, name)

    asyncio.run(add_tenants())
    return settings


def headwater(settings: Settings, *args: str, stdin: str | None = None) -> tuple[int, str]:
    """The exit code and standard output of ``headwater ARGS --database-url ...``."""
    result = CliRunner().invoke(
        app, [*args, "--database-url", settings.database_url], input=stdin, catch_exceptions=False
    )
    return result.exit_code, result.stdout


def headwater_json(settings: Settings, *args: str) -> dict[str, Any]:
    """What ``headwater ARGS --json`` prints, once it has succeeded."""
    code, out = headwater(settings, *args, "--json")
    assert code == 0, out
    shown: dict[str, Any] = json.loads(out)
    return shown
