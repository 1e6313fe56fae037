"""What ``headwater serve`` writes on standard error, as an operator's log collector reads it."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import SECRET_KEY
from tests.integration.worker_support import headwater_command
from tests.support.services import free_port


def _serve_once(tmp_path: Path, **env: str) -> str:
    """Start ``headwater serve`` on a fresh SQLite store, make two requests, stop it; its stderr."""
    port = free_port()
    process = subprocess.Popen(
        [*headwater_command(), "serve", "--port", str(port)],
        cwd=tmp_path,
        env={
            **os.environ,
            "HEADWATER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}",
            "HEADWATER_SECRET_KEY": SECRET_KEY,
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "headwater serve did not answer"
            time.sleep(0.1)
        httpx.get(f"http://127.0.0.1:{port}/api/v4/me?touchpoint=X&token=very-secret-token", timeout=5)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    return stderr


def test_with_json_logs_every_line_of_the_server_is_one_json_object(tmp_path: Path) -> None:
    stderr = _serve_once(tmp_path, HEADWATER_LOG_JSON="true")
    lines = [line for line in stderr.splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # fails on any plain-text line
    events = " ".join(str(entry.get("event")) for entry in parsed)
    assert "Uvicorn running" in events  # uvicorn's own start-up line
    assert "/api/v4/me" in events  # the access log
    assert all("timestamp" in entry and "level" in entry for entry in parsed)
    assert "very-secret-token" not in stderr
