"""Every agent page at 1366, 390 and 360 px in each language: no sideways scroll, no serious
axe-core finding, a screenshot of each; the header's menu button at phone width.

One browser context per language; each page is loaded once and resized (the layout reflows
without a reload), so the run stays at about one page load per page and language.  axe-core
checks every page at 1366 and 390 px in English and at 1366 px in the other languages: the
phone layout is the same markup and colours whatever the language, while the wide one shows
every translated text of the header and navigation (sideways scrolling, which long
translations cause, is checked at both phone widths in every language).  axe-core
comes from ``node_modules`` (``make assets`` installs it; it is not served by the app) and is
evaluated as a script by Playwright, which the page's Content-Security-Policy does not see.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from desk.article.models import Article
from desk.ticket.models import Ticket
from engine.models import HumanTask
from tests.e2e.conftest import ROOT, screenshot, sign_in
from tests.e2e.test_portal import _sign_in_by_link

pytestmark = pytest.mark.slow

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
LANGUAGES = ("en", "de", "ru", "hu")
WIDE, PHONE, SMALL_PHONE = 1366, 390, 360
# Where axe-core runs, by language (see the module's docstring); English at both widths.
AXE_WIDTHS = {"en": (WIDE, PHONE)}
HEIGHT = 900
# What an agent meets in a day; the admin lists are read from the admin navigation itself.
AGENT_PAGES = {
    "dashboard": "/",
    "inbox": "/inbox",
    "search": "/search?words=",
    "stats": "/stats",
    "phone-ticket": "/tickets/new/phone",
    "account": "/account",
    "team-load": "/teams/load",
}
# The admin edit pages: the first row's link of these lists is opened too.
ADMIN_EDIT_FROM = ("agents", "groups", "roles", "queues", "states", "service-levels", "customers")

_RUN_AXE = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    resultTypes: ["violations"],
  });
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => v.id + " (" + v.impact + "): " + v.nodes.slice(0, 4).map(n => n.target.join(" ")).join(", "));
}"""

_OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 1 && box.width > 0 && !el.closest(".table-wrap, .process-diagram")) {
      const classes = typeof el.className === "string" ? el.className.trim().replace(/\\s+/g, ".") : "";
      wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (classes ? "." + classes : "") +
        " right=" + Math.round(box.right));
    }
  }
  return [document.documentElement.scrollWidth, width, wide.slice(0, 5)];
}"""


@pytest.fixture(scope="module")
def demo_ticket(e2e_factory: sessionmaker[Session]) -> tuple[int, int, str]:
    """A demo ticket with articles and an open process task: (ticket id, task id, search words)."""
    with session_scope(e2e_factory) as session:
        articles = select(func.count(Article.id)).where(Article.ticket_id == HumanTask.ticket_id)
        task = session.scalars(
            select(HumanTask)
            .where(HumanTask.state == "open", articles.scalar_subquery() >= 1)
            .order_by(HumanTask.ticket_id)
        ).first()
        assert task is not None, "the demo data has no ticket with articles and an open task"
        ticket = session.get(Ticket, task.ticket_id)
        assert ticket is not None
        # One word of the title finds this ticket and usually a few more.
        return task.ticket_id, task.id, max(ticket.title.split(), key=len)


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core's browser bundle, as npm installed it."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make assets` (npm ci installs axe-core)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def admin_tab(browser: Any, live_server: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A tab signed in as the administrator, in the language of the test's parameter."""
    language = getattr(request, "param", "en")
    context = browser.new_context(locale="en-US", viewport={"width": WIDE, "height": HEIGHT})
    context.set_default_timeout(20000)
    tab = context.new_page()
    sign_in(tab, live_server, "admin")
    # Always chosen: the choice is stored for the agent, so a previous test's language sticks.
    if tab.locator("html").get_attribute("lang") != language:
        tab.select_option("#language-select", language)
        tab.locator("form.language button[type=submit]").click()
        tab.wait_for_load_state("networkidle")
        assert tab.locator("html").get_attribute("lang") == language
    yield tab
    context.close()


# The pages found by the first language's test; the others check the same ones.
_FOUND_PAGES: dict[str, dict[str, str]] = {}


def _pages(tab: Any, base: str, ticket_id: int, task_id: int, words: str) -> dict[str, str]:
    """Every page to check, name → path: the agent's pages, the ticket, every admin list and
    the first edit page of the main lists (found once per live server: links do not depend
    on the language)."""
    if base in _FOUND_PAGES:
        return dict(_FOUND_PAGES[base])
    pages = dict(AGENT_PAGES)
    pages["search"] = f"/search?words={words}"
    pages["ticket"] = f"/tickets/{ticket_id}"
    pages["task-form"] = f"/tickets/{ticket_id}#task-{task_id}"
    tab.goto(f"{base}/admin/")
    for link in tab.locator("nav.admin-nav a").all():
        href = link.get_attribute("href") or ""
        name = "admin-" + (
            href.rstrip("/").rsplit("/", 1)[-1] if href.rstrip("/") != "/admin" else "dashboard"
        )
        pages[name] = href
    for name in ADMIN_EDIT_FROM:
        listing = pages.get(f"admin-{name}")
        if listing is None:
            continue
        tab.goto(f"{base}{listing}")
        edit = tab.locator(f'main a[href^="{listing}/"]').first
        if edit.count():
            pages[f"admin-{name}-edit"] = edit.get_attribute("href") or listing
    _FOUND_PAGES[base] = pages
    return dict(pages)


def _check(tab: Any, axe_source: str, name: str, language: str) -> list[str]:
    """Screenshots at both widths, the overflow check at phone widths, axe at the language's
    widths (:data:`AXE_WIDTHS`)."""
    problems: list[str] = []
    axe_widths = AXE_WIDTHS.get(language, (WIDE,))
    for width in (WIDE, PHONE, SMALL_PHONE):
        tab.set_viewport_size({"width": width, "height": HEIGHT})
        if width != SMALL_PHONE:
            if name == "task-form":
                task = tab.locator(".task").first
                task.scroll_into_view_if_needed()
                path = Path(screenshot(tab, f"{name}-{width}-{language}"))
                task.screenshot(path=str(path.with_name(f"{name}-{width}-{language}-task.png")))
            else:
                screenshot(tab, f"{name}-{width}-{language}")
        if width != WIDE:
            scroll_width, inner_width, wide = tab.evaluate(_OVERFLOW)
            if scroll_width > inner_width:
                problems.append(f"{name} {language} {width}px scrolls sideways ({scroll_width}px): {wide}")
        if width in axe_widths:
            if not tab.evaluate("typeof window.axe !== 'undefined'"):
                tab.evaluate(axe_source)
            for violation in tab.evaluate(_RUN_AXE):
                problems.append(f"{name} {language} {width}px axe {violation}")
    return problems


@pytest.mark.parametrize("admin_tab", LANGUAGES, indirect=True)
def test_every_page_fits_the_phone_and_passes_axe(admin_tab, live_server, demo_ticket, axe_source, request):
    ticket_id, task_id, words = demo_ticket
    language = request.node.callspec.params["admin_tab"]
    tab = admin_tab
    problems: list[str] = []
    for name, path in _pages(tab, live_server, ticket_id, task_id, words).items():
        tab.set_viewport_size({"width": WIDE, "height": HEIGHT})
        response = tab.goto(f"{live_server}{path}")
        # Only a jump to an anchor of the page already shown has no response.
        status = response.status if response is not None else (200 if "#" in path else None)
        assert status == 200, f"{name}: {path} answered {status}"
        tab.wait_for_load_state("networkidle")
        assert tab.locator("h1").count() == 1, f"{name} {language}: not exactly one h1"
        problems += _check(tab, axe_source, name, language)
    assert not problems, "\n".join(problems)


def test_the_portal_fits_the_phone_and_passes_axe(page, live_server, e2e_factory, axe_source):
    page.set_viewport_size({"width": WIDE, "height": HEIGHT})
    page.goto(f"{live_server}/portal/sign-in")
    problems = _check(page, axe_source, "portal-sign-in", "en")
    _sign_in_by_link(page, live_server, e2e_factory, "john.doe@acme.example")
    pages = {"portal": "/portal/", "portal-new-ticket": "/portal/tickets/new"}
    first = page.locator('main a[href^="/portal/tickets/"]:not([href$="/new"])').first
    if first.count():
        pages["portal-ticket"] = first.get_attribute("href")
    for name, path in pages.items():
        page.set_viewport_size({"width": WIDE, "height": HEIGHT})
        page.goto(f"{live_server}{path}")
        assert page.locator("h1").count() == 1, f"{name}: not exactly one h1"
        problems += _check(page, axe_source, name, "en")
    assert not problems, "\n".join(problems)


def test_the_header_collapses_to_a_menu_button_at_phone_width(admin_tab, live_server):
    tab = admin_tab
    tab.set_viewport_size({"width": PHONE, "height": HEIGHT})
    tab.goto(f"{live_server}/inbox")
    button = tab.locator("button[aria-controls][aria-expanded]").first
    nav = tab.locator(f"#{button.get_attribute('aria-controls')}")
    assert button.is_visible()
    assert button.get_attribute("aria-expanded") == "false"
    search_link = nav.locator('a[href="/search"]')
    assert not search_link.is_visible()
    # The header stays a slim bar: the brand and the button.
    assert tab.locator("header").bounding_box()["height"] < 100

    button.click()

    assert button.get_attribute("aria-expanded") == "true"
    assert nav.is_visible()
    assert search_link.is_visible()
    assert tab.locator("#language-select").is_visible()
    assert tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(tab, "header-menu-390-en")
    search_link.click()
    tab.wait_for_load_state("networkidle")
    assert tab.url.startswith(f"{live_server}/search")


@pytest.mark.parametrize("admin_tab", LANGUAGES, indirect=True)
def test_the_language_switch_shares_the_first_header_row_at_1366(admin_tab, live_server):
    tab = admin_tab
    tab.goto(f"{live_server}/inbox")
    assert not tab.locator("[data-menu-button]").is_visible()
    # The brand, search, availability, account and language switch are one row; the
    # navigation is the second and last row of the header.
    tools = (".brand", "#quick-search", "#availability-status", ".account__name", "#language-select")
    middles = {
        selector: round(box["y"] + box["height"] / 2)
        for selector in tools
        if (box := tab.locator(selector).bounding_box()) is not None
    }
    assert max(middles.values()) - min(middles.values()) <= 8, middles
    nav = tab.locator("nav.app-nav").bounding_box()
    header = tab.locator("header").bounding_box()
    assert nav["y"] > middles[".brand"]
    assert header["height"] < 2 * 56, header


@pytest.mark.parametrize("admin_tab", ["en", "ru"], indirect=True)
def test_the_inbox_shows_the_claim_column_whole_at_1366(admin_tab, live_server):
    tab = admin_tab
    tab.goto(f"{live_server}/inbox")
    table = tab.locator("main table").first
    table.wait_for()
    wrap_right = tab.evaluate("() => document.querySelector('main').getBoundingClientRect().right")
    last_header = table.locator("thead th").last.bounding_box()
    assert last_header["x"] + last_header["width"] <= wrap_right + 1
    sizes = tab.evaluate(
        "() => [...document.querySelectorAll('main .table-wrap')].map(w => [w.scrollWidth, w.clientWidth])"
    )
    assert all(scroll <= client for scroll, client in sizes), sizes


def test_the_skip_link_moves_focus_to_the_main_content(admin_tab, live_server):
    tab = admin_tab
    tab.goto(f"{live_server}/inbox")
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.classList.contains('skip-link')")
    assert tab.locator(".skip-link").is_visible()
    tab.keyboard.press("Enter")
    assert tab.evaluate("document.activeElement.id") == "main"


def test_the_dark_scheme_passes_axe_too(browser, live_server, demo_ticket, axe_source):
    ticket_id, _task_id, words = demo_ticket
    context = browser.new_context(color_scheme="dark", viewport={"width": WIDE, "height": HEIGHT})
    context.set_default_timeout(20000)
    tab = context.new_page()
    sign_in(tab, live_server, "admin")
    problems: list[str] = []
    for name, path in {
        "inbox": "/inbox",
        "ticket": f"/tickets/{ticket_id}",
        "search": f"/search?words={words}",
        "dashboard": "/",
        "admin-agents": "/admin/agents",
    }.items():
        tab.goto(f"{live_server}{path}")
        tab.wait_for_load_state("networkidle")
        assert tab.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
        tab.evaluate(axe_source)
        problems += [f"{name} dark axe {violation}" for violation in tab.evaluate(_RUN_AXE)]
    context.close()
    assert not problems, "\n".join(problems)


def test_without_javascript_the_phone_header_shows_the_menu_wrapped(browser, live_server):
    viewport = {"width": SMALL_PHONE, "height": HEIGHT}
    context = browser.new_context(java_script_enabled=False, viewport=viewport)
    context.set_default_timeout(20000)
    tab = context.new_page()
    sign_in(tab, live_server, "admin")
    tab.goto(f"{live_server}/inbox")
    assert not tab.locator("[data-menu-button]").is_visible()
    assert tab.locator('nav.app-nav a[href="/search"]').is_visible()
    assert tab.locator("#language-select").is_visible()
    assert tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()
