"""Who sees what in the console, in a real browser against a live server."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PASSWORD, LiveServer, tenant_with_partner
from tests.support.browser import sign_in


def test_an_operator_sees_every_tenant(page: Page, live_server: LiveServer) -> None:
    tenant_with_partner(live_server, "acme", "REST01")
    tenant_with_partner(live_server, "globex", "REST02")
    live_server.cli("operator", "create", "--principal", "ops", "--password", "operator-password")
    sign_in(page, live_server.url, "ops", "operator-password")
    page.get_by_role("link", name="Tenants").click()
    table = page.locator("table")
    expect(table).to_contain_text("acme")
    expect(table).to_contain_text("globex")


def test_another_tenants_source_is_not_found(page: Page, live_server: LiveServer) -> None:
    principal = tenant_with_partner(live_server, "acme", "REST01")
    tenant_with_partner(live_server, "globex", "REST02")
    sign_in(page, live_server.url, principal, PASSWORD, tenant="acme")
    answer = page.goto(f"{live_server.url}/console/sources/1")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


def test_an_operator_revokes_a_partner_and_the_partners_console_session_is_over(
    browser: Browser, live_server: LiveServer
) -> None:
    principal = tenant_with_partner(live_server, "acme", "REST01")
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
