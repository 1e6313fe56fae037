"""Screenshots of the console for the docs: a live ``headwater serve`` on a temporary SQLite store with
demo data, signed in with Playwright (the system's Chromium), pages saved as PNG into ``docs/img/``.

    scripts/screenshots [--out docs/img]

The demo data is made through headwater's own functions: a tenant with a partner and an operator, an
upload source with a few days of imports and rejected rows, an SFTP source whose server is down (so
that it fails), a paused FTPS source and an S3 source. ``HEADWATER_CHROMIUM`` overrides the browser.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.browser import sign_in  # noqa: E402
from tests.support.live import serve_process  # noqa: E402
from tests.support.services import free_port  # noqa: E402

from headwater import sources  # noqa: E402
from headwater.access import credentials, operators  # noqa: E402
from headwater.clock import utcnow  # noqa: E402
from headwater.ingest import uploads  # noqa: E402
from headwater.ingest.connectors.hosts import HostPolicy  # noqa: E402
from headwater.runtime import open_runtime  # noqa: E402
from headwater.settings import Settings  # noqa: E402
from headwater.store.tables import ImportFile  # noqa: E402

PARTNER = "maria@acme.example"
PASSWORD = "demo-password-1"
OPERATOR_PASSWORD = "operator-password-1"
HEADER = b"saleDate,transactionId,quantity,amount,partnerSkuCode,currency\n"


def _sales(day: int, rows: int, bad: int) -> bytes:
    lines = [HEADER]
    for n in range(rows):
        date = f"2026-03-{(day % 28) + 1:02d}"
        if n < bad:
            date = "2026-02-31" if n % 2 else date
            quantity = "1" if n % 2 else "two"
        else:
            quantity = str(n % 5 + 1)
        lines.append(f"{date},D{day:02d}-{n:04d},{quantity},{n % 40 + 3}.90,SKU-{n % 12:03d},EUR\n".encode())
    return b"".join(lines)


def _pull(name: str, kind: str, port: int, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": name,
        "dataSourceType": kind,
        "host": "127.0.0.1" if kind == "SFTP" else f"{kind.lower()}.partner.example",
        "port": port,
        "user": "acme",
        "password": "not-shown-anywhere",
        "workingDirectory": "/outgoing/sales",
        "processorType": 25011,
        "fileImportType": "PARTY",
        "authenticationType": "PASSWORD",
        "touchpointCode": "REST01",
        "filePattern": "*.csv",
        "schedule": "0 3 * * *" if kind == "SFTP" else "3600",
    }
    if kind == "S3":
        fields.update(region="eu-central-1", port=None)
    fields.update(extra)
    return fields


async def seed(settings: Settings, closed_port: int) -> None:
    async with open_runtime(settings) as runtime:
        async with runtime.db.session() as session:
            tenant = await credentials.create_tenant(session, "acme")
            await credentials.create_touchpoint(session, runtime.box, tenant.id, "REST01")
            partner = await credentials.create_partner(
                session, tenant.id, PARTNER, password=PASSWORD, first_name="Maria", last_name="Keller"
            )
            await credentials.create_partner(session, tenant.id, "jonas@acme.example", first_name="Jonas")
            other = await credentials.create_tenant(session, "globex")
            await credentials.create_touchpoint(session, runtime.box, other.id, "GLX01")
            await operators.create_operator(session, "ops", password=OPERATOR_PASSWORD)
            hosts = HostPolicy(allow_private=True)
            for fields in (
                _pull("Distributor SFTP", "SFTP", closed_port),
                _pull("Retail FTPS", "FTP", 21, tls=True, active=False),
                _pull("Warehouse S3", "S3", 443),
            ):
                await sources.create_pull_source(
                    session, tenant.id, fields, runtime.box, owner_partner_id=partner.partner.id, hosts=hosts
                )
            upload_source = await sources.create_custom_source(session, tenant.id, "Web shop uploads")
            upload_source.owner_partner_id = partner.partner.id
            tenant_id, upload_id, partner_id = tenant.id, upload_source.id, partner.partner.id
        now = utcnow()
        for day in range(12):
            imported = await uploads.import_upload(
                runtime,
                tenant_id,
                source_id=upload_id,
                name=f"webshop-2026-03-{day + 1:02d}.csv",
                processor_type=25011,
                data=io.BytesIO(_sales(day, 40 + (day * 37) % 90, 3 if day % 4 == 0 else 0)),
                owner_partner_id=partner_id,
            )
            at = now - timedelta(days=11 - day, hours=2)
            async with runtime.db.session() as session:
                await session.execute(
                    update(ImportFile)
                    .where(ImportFile.id == imported.id)
                    .values(started_at=at, finished_at=at + timedelta(seconds=4))
                )


def _shoot(page: Page, out: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(out / f"{name}.png"))
    print(f"saved {out / name}.png ({(out / f'{name}.png').stat().st_size // 1024} KB)")


def screenshots(url: str, out: Path, chromium: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id="Europe/Berlin")
        page = context.new_page()
        sign_in(page, url, PARTNER, PASSWORD, tenant="acme")

        page.get_by_role("link", name="Distributor SFTP").click()
        page.get_by_role("button", name="Run now").click()
        # The page reloads itself when it saw the run under way; a run over before the first look needs one.
        deadline = time.monotonic() + 60
        while not page.get_by_text("Last error").is_visible():
            if time.monotonic() > deadline:
                sys.exit("the demo run did not fail in time")
            time.sleep(1)
            page.reload()
        page.get_by_role("link", name="Sources").first.click()
        _shoot(page, out, "console-sources")

        page.get_by_role("link", name="Distributor SFTP").click()
        _shoot(page, out, "console-source")
        page.get_by_role("button", name="Test connection").click()
        _shoot(page, out, "console-connection-test")

        page.get_by_role("link", name="Sources").first.click()
        page.get_by_role("link", name="Web shop uploads").click()
        page.get_by_role("link", name="webshop-2026-03-09.csv").click()
        _shoot(page, out, "console-file")
        page.get_by_role("link", name="Web shop uploads").click()
        page.get_by_role("link", name="Records").click()
        _shoot(page, out, "console-records")
        page.get_by_role("link", name="Charts").click()
        _shoot(page, out, "console-charts")

        page.set_viewport_size({"width": 390, "height": 844})
        page.get_by_role("link", name="Sources").first.click()
        _shoot(page, out, "console-sources-390")
        context.close()

        operator = browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id="Europe/Berlin")
        page = operator.new_page()
        sign_in(page, url, "ops", OPERATOR_PASSWORD)
        page.get_by_role("link", name="Tenants").click()
        page.get_by_role("link", name="acme").click()
        _shoot(page, out, "console-tenant")
        operator.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    chromium = (
        os.environ.get("HEADWATER_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not chromium:
        sys.exit("no Chromium found: apt-get install chromium, or set HEADWATER_CHROMIUM")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="headwater-screenshots-") as scratch:
        work = Path(scratch)
        env = {
            **os.environ,
            "HEADWATER_DATABASE_URL": f"sqlite+aiosqlite:///{work / 'headwater.db'}",
            "HEADWATER_SECRET_KEY": Fernet.generate_key().decode(),
            "HEADWATER_ALLOW_PRIVATE_HOSTS": "true",
            "HEADWATER_POLL_INTERVAL": "3600",
            "HEADWATER_CONNECT_TIMEOUT": "3",
            "HEADWATER_LOG_LEVEL": "WARNING",
        }
        os.environ.update({k: v for k, v in env.items() if k.startswith("HEADWATER_")})
        asyncio.run(seed(Settings(), free_port()))
        with serve_process(env, work / "serve.log", cwd=work) as served:
            screenshots(served.url, args.out, chromium)


if __name__ == "__main__":
    main()
