"""What ``headwater serve`` writes on standard error, as an operator's log collector reads it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx

from tests.conftest import SECRET_KEY
from tests.support.live import serve_process


def _serve_once(tmp_path: Path, **env: str) -> str:
    """Start ``headwater serve`` on a fresh SQLite store, make two requests, stop it; its stderr."""
    settings = {
        **os.environ,
        "HEADWATER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}",
        "HEADWATER_SECRET_KEY": SECRET_KEY,
        **env,
    }
    with serve_process(settings, tmp_path / "serve.log", cwd=tmp_path) as served:
        httpx.get(f"{served.url}/api/v4/me?touchpoint=X&token=very-secret-token", timeout=5)
    return served.output()


def test_with_json_logs_every_line_of_the_server_is_one_json_object(tmp_path: Path) -> None:
    stderr = _serve_once(tmp_path, HEADWATER_LOG_JSON="true")
    lines = [line for line in stderr.splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # fails on any plain-text line
    events = " ".join(str(entry.get("event")) for entry in parsed)
    assert "Uvicorn running" in events  # uvicorn's own start-up line
    assert "/api/v4/me" in events  # the access log
    assert all("timestamp" in entry and "level" in entry for entry in parsed)
    assert "very-secret-token" not in stderr
