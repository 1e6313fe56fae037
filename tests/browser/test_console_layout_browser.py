"""The console's pages on a phone-sized screen and by keyboard, in a real browser against a live server."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import PASSWORD, LiveServer, tenant_with_partner
from tests.support.browser import sign_in


@pytest.mark.parametrize("path", ["/console/sources", "/console/sources/new", "/console/charts"])
def test_at_390_pixels_wide_no_page_scrolls_sideways(page: Page, live_server: LiveServer, path: str) -> None:
    principal = tenant_with_partner(live_server, "acme", "REST01")
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
