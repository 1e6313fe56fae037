"""A partner's sources, runs and rejected rows in a real browser, against a live server and the real SFTP test server."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy.engine import make_url

from tests.browser.conftest import PASSWORD, SALES, LiveServer, create_sftp_source, tenant_with_partner
from tests.servers import SftpServerInfo
from tests.support.browser import sign_in


def test_a_partner_creates_a_source_runs_it_and_reads_its_rejected_rows(
    page: Page, live_server: LiveServer, sftp_server: SftpServerInfo
) -> None:
    principal = tenant_with_partner(live_server, "acme", "REST01")
    sftp_server.put("in/sales.csv", SALES)
    sign_in(page, live_server.url, principal, PASSWORD, tenant="acme")

    create_sftp_source(page, sftp_server, pattern=None)
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


def test_a_partner_re_imports_a_file_and_its_counts_are_unchanged(
    page: Page, live_server: LiveServer, sftp_server: SftpServerInfo
) -> None:
    principal = tenant_with_partner(live_server, "acme", "REST01")
    sftp_server.put("in/sales.csv", SALES)
    sign_in(page, live_server.url, principal, PASSWORD, tenant="acme")
    create_sftp_source(page, sftp_server)
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


def test_the_source_page_reloads_for_a_run_that_ended_between_two_of_its_polls(
    page: Page, live_server: LiveServer, sftp_server: SftpServerInfo
) -> None:
    principal = tenant_with_partner(live_server, "acme", "REST01")
    sign_in(page, live_server.url, principal, PASSWORD, tenant="acme")
    create_sftp_source(page, sftp_server)
    page.get_by_role("button", name="Pause").click()  # no run of the scheduler's own meanwhile
    expect(page.get_by_text("The source is paused")).to_be_visible()
    store = Path(str(make_url(live_server.database_url).database))

    # A run as the queue writes it, shown by the page while it waits...
    with closing(sqlite3.connect(store, timeout=30)) as connection, connection:
        connection.execute(
            "INSERT INTO runs (tenant_id, data_source_id, trigger, queued_at, files_seen, files_imported,"
            " files_skipped, files_failed, rows_ok, rows_with_errors, outcome)"
            " SELECT tenant_id, id, 'console', '2026-12-01 10:00:00', 0, 0, 0, 0, 0, 0, 'queued'"
            " FROM data_sources WHERE name = 'Partner SFTP'"
        )
    page.reload()
    expect(page.locator("td .outcome-queued")).to_be_visible()

    # ...then started and ended before the page asks again: it never saw the source working.
    with closing(sqlite3.connect(store, timeout=30)) as connection, connection:
        connection.execute(
            "UPDATE runs SET outcome = 'succeeded', started_at = '2026-12-01 10:00:01',"
            " finished_at = '2026-12-01 10:00:02'"
        )
    expect(page.locator("td .outcome-succeeded")).to_be_visible(timeout=30_000)
