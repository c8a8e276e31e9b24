"""A hostile HTML mail in Chromium: no request leaves for the sender's host, no script runs.

The page is opened with the Content-Security-Policy switched off (Playwright's
``bypass_csp``), so the sanitizer alone has to hold: every spelling of a remote image source
a browser would follow (backslashes, scheme-relative, tabs, entities, ``http:\\\\host``) and
every way to run script.  Requests to other hosts are aborted and recorded.  Only after
"Show images" may the images load, and then only from their resolved ``https`` address.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from core.db import session_scope
from desk.actor import SYSTEM
from desk.article import service as articles
from desk.customer.models import CustomerUser
from desk.queue.models import Queue
from desk.ticket import service as tickets
from mail.inbound.sanitize import sanitize_html
from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.slow

HOSTILE = """
<p>Dear support,</p>
<img src="/\\evil.example/backslash.png" alt="1">
<img src="\\\\evil.example/unc.png" alt="2">
<img src="http:\\\\evil.example/http-backslash.png" alt="3">
<img src="https:\\\\evil.example/https-backslash.png" alt="4">
<img src="//evil.example/relative.png" alt="5">
<img src=" &#x09;//evil.example/tab.png" alt="6">
<img src="&#x2F;&#x2F;evil.example/entity.png" alt="7">
<img src="HtTpS:evil.example/noslash.png" alt="8">
<img src="x" onerror="window.pwned = 'onerror'">
<script>window.pwned = 'script'</script>
<svg onload="window.pwned = 'svg'"></svg>
<a href="javascript:window.pwned='link'">click</a>
<iframe src="https://evil.example/frame"></iframe>
<div style="background:url(https://evil.example/css.png)">styled</div>
<p>Thanks</p>
"""


@pytest.fixture
def hostile_ticket(e2e_factory) -> int:
    """A ticket with the hostile mail twice: cleaned by the mail pipeline, and stored raw."""
    with session_scope(e2e_factory) as session:
        john = session.scalars(
            select(CustomerUser).where(CustomerUser.email == "john.doe@acme.example")
        ).one()
        raw = session.scalars(select(Queue).where(Queue.name == "Raw")).one()
        ticket = tickets.create_ticket(
            session, actor=SYSTEM, title="Hostile HTML", queue=raw, customer_user=john
        )
        # As if the sanitizer had been bypassed (an import, an old row): the page cleans again.
        for body_html in (sanitize_html(HOSTILE), HOSTILE):
            articles.add_article(
                session,
                actor=SYSTEM,
                ticket=ticket,
                channel="email",
                sender_type="customer",
                visible_for_customer=True,
                subject=ticket.title,
                body_text="Dear support",
                body_html=body_html,
                from_addr=john.email,
            )
        return ticket.id


@pytest.fixture
def open_page(browser) -> Iterator[tuple[Any, list[str]]]:
    """A tab without the CSP, recording (and aborting) every request to another host."""
    context = browser.new_context(locale="en-US", bypass_csp=True)
    context.set_default_timeout(15000)
    elsewhere: list[str] = []

    def leaves(url: str) -> bool:
        return urlsplit(url).hostname not in ("127.0.0.1", None)

    def route(request_route: Any) -> None:
        # Nothing really goes out: a request elsewhere is recorded (below) and aborted.
        if leaves(request_route.request.url):
            request_route.abort()
        else:
            request_route.continue_()

    context.route("**/*", route)
    tab = context.new_page()
    tab.on("request", lambda request: elsewhere.append(request.url) if leaves(request.url) else None)
    yield tab, elsewhere
    context.close()


def test_the_hostile_mail_fetches_nothing_and_runs_nothing(open_page, live_server, hostile_ticket):
    page, elsewhere = open_page
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/tickets/{hostile_ticket}")
    page.wait_for_load_state("networkidle")
    # The javascript: link lost its target; clicking it runs nothing.
    page.get_by_text("click", exact=True).first.click()
    screenshot(page, "hostile-html")

    assert elsewhere == []
    assert page.evaluate("window.pwned") is None
    assert page.locator(".article__body--html").count() == 2
    assert page.locator(".article__body--html img[data-remote-src]").count() == 16
    assert page.get_by_text("Thanks").count() == 2


def test_show_images_loads_only_the_resolved_https_addresses(open_page, live_server, hostile_ticket):
    page, elsewhere = open_page
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/tickets/{hostile_ticket}")
    page.get_by_role("link", name="Show images").first.click()
    page.wait_for_load_state("networkidle")

    assert page.evaluate("window.pwned") is None
    assert elsewhere, "the agent asked for the images"
    for url in elsewhere:
        parts = urlsplit(url)
        assert (parts.scheme, parts.hostname) == ("https", "evil.example"), url
        assert parts.path.endswith(".png"), url
        assert parts.path != "/css.png", url
