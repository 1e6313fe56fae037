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
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import service_missing
from tests.integration.worker_support import worker_env
from tests.servers import SftpServerInfo
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


# --- what several browser tests set up ---------------------------------------------------------

PASSWORD = "partner-password-1"
SALES = (
    b"saleDate,transactionId,quantity,amount,partnerSkuCode\n"
    b"2026-11-01,T-1,2,3.50,SKU-1\n"
    b"2026-11-31,T-2,1,1.00,SKU-2\n"
    b"2026-11-02,T-3,x,1.00,SKU-3\n"
    b"2026-11-03,T-4,1,2.00,SKU-4\n"
)


def tenant_with_partner(server: LiveServer, name: str, code: str) -> str:
    server.cli("tenant", "create", name)
    server.cli("touchpoint", "create", "--tenant", name, "--code", code)
    principal = f"partner@{name}.example"
    server.cli("partner", "create", "--tenant", name, "--principal", principal, "--password", PASSWORD)
    return principal


def create_sftp_source(page: Page, server: SftpServerInfo, *, pattern: str | None = "*.csv") -> None:
    """The partner's "New source" form filled in for ``server``'s ``/in``; ``pattern`` None leaves it empty."""
    page.get_by_role("link", name="New source").click()
    page.get_by_label("Protocol", exact=True).select_option("SFTP")
    page.get_by_label("Host", exact=True).fill(server.host)
    page.get_by_label("Port", exact=True).fill(str(server.port))
    page.get_by_label("User", exact=True).fill(server.user)
    page.get_by_label("Password", exact=True).fill(server.password)
    page.get_by_label("Directory", exact=True).fill("/in")
    if pattern is not None:
        page.get_by_label("File pattern", exact=True).fill(pattern)
    page.get_by_label("Processor", exact=True).select_option("25011")
    page.get_by_label("Touchpoint code", exact=True).fill("REST01")
    page.get_by_label("Name", exact=True).fill("Partner SFTP")
    page.get_by_role("button", name="Create the source").click()
    expect(page.get_by_text("The source was created.")).to_be_visible()
