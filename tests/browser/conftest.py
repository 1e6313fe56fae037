"""A live ``headwater serve`` and a real Chromium (Debian's package) driven by Playwright.

Browsers cannot be downloaded here: Playwright is pointed at the system's ``chromium``
(``HEADWATER_CHROMIUM`` overrides the path). Without it the browser tests are skipped, and fail
under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import service_missing
from tests.integration.worker_support import worker_env
from tests.support.live import headwater_command, serve_process


def chromium_path() -> str:
    found = (
        os.environ.get("HEADWATER_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not found:
        service_missing("Chromium (apt-get install chromium)")
        raise AssertionError("unreachable")
    return found


@dataclass
class LiveServer:
    url: str
    database_url: str
    env: dict[str, str]
    log: Path

    def cli(self, *args: str) -> str:
        """``headwater ARGS`` against this server's store; its standard output."""
        done = subprocess.run(
            [*headwater_command(), *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}"
    env = {**worker_env(database_url), "HEADWATER_POLL_INTERVAL": "3600"}
    with serve_process(env, tmp_path / "serve.log", cwd=tmp_path) as served:
        yield LiveServer(served.url, database_url, env, served.log)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module, not session: the sync API keeps its own event loop running in this thread until it
    # stops, and the asyncio tests that the same worker runs next need the thread to themselves.
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    yield opened
    context.close()
