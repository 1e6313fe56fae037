"""The ``headwater`` command as an operator runs it, against a migrated SQLite database of the test's own.

``headwater_process`` runs the real command in a process of its own, in a directory of the test's
choosing, seeing only the ``HEADWATER_*`` settings the test gives it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from headwater import cli as cli_package
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


class JsonCli:
    """Runs ``headwater ... --json`` in this process, seeing ``env``, and reads the one JSON object it prints."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.runner = CliRunner(env=dict(env))

    def __call__(self, *args: str, code: int = 0) -> dict[str, Any]:
        result = self.runner.invoke(app, [*args, "--json"])
        assert result.exit_code == code, (result.stdout, result.stderr)
        lines = result.stdout.strip().splitlines()
        assert len(lines) == 1, result.stdout
        parsed: dict[str, Any] = json.loads(lines[0])
        return parsed


def headwater_json(settings: Settings, *args: str) -> dict[str, Any]:
    """What ``headwater ARGS --json`` prints, once it has succeeded."""
    code, out = headwater(settings, *args, "--json")
    assert code == 0, out
    shown: dict[str, Any] = json.loads(out)
    return shown


HEADWATER = str(Path(sys.executable).with_name("headwater"))
# The code under test, whatever the directory the command runs in.
SOURCE_ROOT = str(Path(cli_package.__file__).resolve().parents[2])


def process_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without its ``HEADWATER_*`` settings, plus ``env``."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    return {**kept, "PYTHONPATH": SOURCE_ROOT, **(env or {})}


def headwater_process(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``headwater ARGS`` in a process of its own, started in ``cwd``."""
    return subprocess.run(
        [HEADWATER, *args],
        cwd=cwd,
        env=process_environment(env),
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def headwater_process_json(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None, code: int = 0
) -> dict[str, Any]:
    """The one JSON object ``headwater ARGS --json`` prints, once it has exited with ``code``."""
    done = headwater_process(cwd, *args, "--json", env=env)
    assert done.returncode == code, (done.stdout, done.stderr)
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    shown: dict[str, Any] = json.loads(lines[0])
    return shown
