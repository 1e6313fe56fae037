"""The console driven through a real browser (Playwright), as the browser tests and the screenshots do."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def sign_in(page: Page, url: str, principal: str, password: str, tenant: str = "") -> None:
    """Through the login form the console leads to, until the sources page shows."""
    page.goto(f"{url}/console/")
    page.get_by_label("Tenant").fill(tenant)
    page.get_by_label("Principal").fill(principal)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sources")).to_be_visible()
