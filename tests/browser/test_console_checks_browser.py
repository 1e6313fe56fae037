"""A partner checks a connection and a file before importing, in a real browser against a live server."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, SALES, LiveServer, create_sftp_source, tenant_with_partner
from tests.servers import SftpServerInfo
from tests.support.browser import sign_in


def test_a_partner_tests_a_connection_and_sees_the_files_it_would_import(
    page: Page, live_server: LiveServer, sftp_server: SftpServerInfo
) -> None:
    principal = tenant_with_partner(live_server, "acme", "REST01")
    sftp_server.put("in/sales.csv", SALES)
    sftp_server.put("in/readme.txt", b"not a sales file\n")
    sign_in(page, live_server.url, principal, PASSWORD, tenant="acme")
    create_sftp_source(page, sftp_server)

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


def test_a_partner_checks_a_file_with_a_dry_run_imports_it_and_downloads_its_rejected_rows(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    principal = tenant_with_partner(live_server, "acme", "REST01")
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
