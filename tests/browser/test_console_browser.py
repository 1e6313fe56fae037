"""The console in a real browser against a live server and the real SFTP test server."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveServer
from tests.servers import SftpServerInfo
from tests.support.browser import sign_in

PASSWORD = "partner-password-1"
SALES = (
    b"saleDate,transactionId,quantity,amount,partnerSkuCode\n"
    b"2026-11-01,T-1,2,3.50,SKU-1\n"
    b"2026-11-31,T-2,1,1.00,SKU-2\n"
    b"2026-11-02,T-3,x,1.00,SKU-3\n"
    b"2026-11-03,T-4,1,2.00,SKU-4\n"
)


def _tenant(server: LiveServer, name: str, code: str) -> str:
    server.cli("tenant", "create", name)
    server.cli("touchpoint", "create", "--tenant", name, "--code", code)
    principal = f"partner@{name}.example"
    server.cli("partner", "create", "--tenant", name, "--principal", principal, "--password", PASSWORD)
    return principal


def test_a_partner_creates_a_source_runs_it_and_reads_its_rejected_rows(
    page: Page, live_server: LiveServer, sftp_server: SftpServerInfo
) -> None:
    principal = _tenant(live_server, "acme", "REST01")
    sftp_server.put("in/sales.csv", SALES)
    sign_in(page, live_server.url, principal, PASSWORD, tenant="acme")

    _create_sftp_source(page, sftp_server, pattern=None)
    expect(page.get_by_text(sftp_server.password)).to_have_count(0)

    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_text("A run was queued")).to_be_visible()
    # The page follows the run and reloads itself when it has ended.
    file_link = page.get_by_role("link", name="sales.csv")
    expect(file_link).to_be_visible(timeout=30_000)
    expect(page.locator("td .outcome-succeeded").first).to_be_visible()

    file_link.click()
    expect(page.get_by_role("heading", name="sales.csv")).to_be_visible()
    rows = page.locator("table.errors tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("3")
    expect(rows.nth(0)).to_contain_text("InvalidDate")
    expect(rows.nth(1)).to_contain_text("4")
    expect(rows.nth(1)).to_contain_text("InvalidNumber")

    page.get_by_label("Code").select_option("InvalidNumber")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)


def test_an_operator_sees_every_tenant(page: Page, live_server: LiveServer) -> None:
    _tenant(live_server, "acme", "REST01")
    _tenant(live_server, "globex", "REST02")
    live_server.cli("operator", "create", "--principal", "ops", "--password", "operator-password")
    sign_in(page, live_server.url, "ops", "operator-password")
    page.get_by_role("link", name="Tenants").click()
    table = page.locator("table")
    expect(table).to_contain_text("acme")
    expect(table).to_contain_text("globex")


def test_another_tenants_source_is_not_found(page: Page, live_server: LiveServer) -> None:
    principal = _tenant(live_server, "acme", "REST01")
    _tenant(live_server, "globex", "REST02")
    sign_in(page, live_server.url, principal, PASSWORD, tenant="acme")
    answer = page.goto(f"{live_server.url}/console/sources/1")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


@pytest.mark.parametrize("path", ["/console/sources", "/console/sources/new", "/console/charts"])
def test_at_390_pixels_wide_no_page_scrolls_sideways(page: Page, live_server: LiveServer, path: str) -> None:
    principal = _tenant(live_server, "acme", "REST01")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server.url, principal, PASSWORD, tenant="acme")
    page.goto(f"{live_server.url}{path}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{path} is {width} px wide"


def test_every_control_is_reachable_by_keyboard_with_a_visible_focus(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/console/login")
    reached = []
    for _ in range(8):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(() => { const e = document.activeElement; const s = getComputedStyle(e);"
            " return [e.id || e.textContent.trim(), s.outlineStyle, s.outlineWidth]; })()"
        )
        reached.append(focused[0])
        assert focused[1] != "none" and focused[2] != "0px", f"{focused[0]} shows no focus"
        if focused[0] == "Sign in":
            break
    assert ["tenant", "principal", "password", "Sign in"] == [
        name for name in reached if name in ("tenant", "principal", "password", "Sign in")
    ][:4]


def _create_sftp_source(page: Page, server: SftpServerInfo, *, pattern: str | None = "*.csv") -> None:
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


def test_a_partner_tests_a_connection_and_sees_the_files_it_would_import(
    page: Page, live_server: LiveServer, sftp_server: SftpServerInfo
) -> None:
    principal = _tenant(live_server, "acme", "REST01")
    sftp_server.put("in/sales.csv", SALES)
    sftp_server.put("in/readme.txt", b"not a sales file\n")
    sign_in(page, live_server.url, principal, PASSWORD, tenant="acme")
    _create_sftp_source(page, sftp_server)

    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_role("heading", name="Connection test")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("2 file(s) listed, 1 would be imported")
    rows = page.locator("table.listing tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("sales.csv")
    expect(rows.nth(0)).to_contain_text("imports it")
    expect(rows.nth(1)).to_contain_text("excludedByPattern")
    expect(page.get_by_text("SHA256:")).to_be_visible()
    expect(page.get_by_text(sftp_server.password)).to_have_count(0)


def test_a_partner_re_imports_a_file_and_its_counts_are_unchanged(
    page: Page, live_server: LiveServer, sftp_server: SftpServerInfo
) -> None:
    principal = _tenant(live_server, "acme", "REST01")
    sftp_server.put("in/sales.csv", SALES)
    sign_in(page, live_server.url, principal, PASSWORD, tenant="acme")
    _create_sftp_source(page, sftp_server)
    page.get_by_role("button", name="Run now").click()
    file_link = page.get_by_role("link", name="sales.csv")
    expect(file_link).to_be_visible(timeout=30_000)
    file_link.click()
    counts = page.locator("dl.counts")
    expect(counts).to_contain_text("Imported2")
    before = counts.inner_text()

    page.get_by_role("button", name="Re-import this file").click()
    expect(page.get_by_role("status")).to_contain_text("marked for import again")
    # The run replaces the file's rows: the same counts, a later finish.
    page.get_by_role("link", name="Partner SFTP").click()
    runs = page.locator("section.card", has=page.get_by_role("heading", name="Runs")).locator("tbody tr")
    expect(runs).to_have_count(2, timeout=30_000)
    expect(runs.first.locator(".outcome-succeeded")).to_be_visible(timeout=30_000)
    page.get_by_role("link", name="sales.csv").click()
    expect(counts).to_contain_text("Imported2")
    assert counts.inner_text().split("Finished")[0] == before.split("Finished")[0]
    expect(page.locator("table.errors tbody tr")).to_have_count(2)


def test_an_operator_revokes_a_partner_and_the_partners_console_session_is_over(
    browser: Browser, live_server: LiveServer
) -> None:
    principal = _tenant(live_server, "acme", "REST01")
    live_server.cli("operator", "create", "--principal", "ops", "--password", "operator-password")
    partner_context = browser.new_context(viewport={"width": 1280, "height": 900})
    operator_context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        partner = partner_context.new_page()
        sign_in(partner, live_server.url, principal, PASSWORD, tenant="acme")
        operator = operator_context.new_page()
        sign_in(operator, live_server.url, "ops", "operator-password")

        operator.get_by_role("link", name="Tenants").click()
        operator.get_by_role("link", name="acme").click()
        row = operator.locator("#partners tbody tr", has_text=principal)
        row.get_by_role("button", name="Revoke").click()
        expect(operator.get_by_role("status")).to_contain_text("The partner was revoked")
        expect(operator.locator("#partners tbody tr", has_text=principal)).to_contain_text("revoked")

        partner.reload()
        expect(partner.get_by_role("heading", name="Sign in")).to_be_visible()
        assert "/console/login" in partner.url
    finally:
        partner_context.close()
        operator_context.close()


def test_a_partner_checks_a_file_with_a_dry_run_imports_it_and_downloads_its_rejected_rows(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    principal = _tenant(live_server, "acme", "REST01")
    sales = tmp_path / "sales.csv"
    sales.write_bytes(SALES)
    sign_in(page, live_server.url, principal, PASSWORD, tenant="acme")

    page.get_by_role("link", name="Upload").click()
    page.get_by_label("Processor").select_option("25011")
    page.get_by_label("File (CSV or XLSX)").set_input_files(str(sales))
    page.get_by_role("button", name="Check the file (dry run)").click()
    dry_run = page.locator("#dry-run")
    expect(dry_run).to_contain_text("Would reject")
    expect(dry_run.locator("table.errors tbody tr")).to_have_count(2)
    expect(page.get_by_text("Nothing was stored.")).to_be_visible()

    page.get_by_label("Processor").select_option("25011")
    page.get_by_label("File (CSV or XLSX)").set_input_files(str(sales))
    page.get_by_role("button", name="Import it").click()
    expect(page.get_by_role("heading", name="sales.csv")).to_be_visible()
    expect(page.locator("table.errors tbody tr")).to_have_count(2)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download rejected rows (CSV)").click()
    lines = Path(download_info.value.path()).read_text().splitlines()
    assert lines[0] == "saleDate,transactionId,quantity,amount,partnerSkuCode,line,code,message"
    assert lines[1].startswith("2026-11-31,T-2,1,1.00,SKU-2,3,InvalidDate,")
    assert lines[2].startswith("2026-11-02,T-3,x,1.00,SKU-3,4,InvalidNumber,")
