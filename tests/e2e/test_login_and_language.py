"""Signing in and switching the language in a real browser."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.slow


def test_an_agent_signs_in_and_sees_their_tickets(page, live_server):
    sign_in(page, live_server, "secretary")
    assert page.get_by_text("I forgot my password").count() >= 1
    assert page.get_by_text("Sam Secretary").count() >= 1
    screenshot(page, "dashboard-en")


def test_the_language_switch_translates_the_page(page, live_server):
    sign_in(page, live_server, "alice")
    page.select_option("#language-select", "de")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.get_by_role("button", name="Abmelden").count() == 1
    screenshot(page, "dashboard-de")


def test_a_wrong_password_is_refused_in_the_browser(page, live_server):
    sign_in(page, live_server, "alice", password="not-the-password")
    assert page.get_by_role("alert").inner_text().startswith("The login or the password is not correct")
