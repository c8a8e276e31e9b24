"""The one HTML policy (desk.article.html): every URL form a browser would follow is resolved.

The mail pipeline (``mail.inbound.sanitize``) and the ticket page (``web.tickets.rendering``)
both clean with it, so both are checked against the same hostile forms.
"""

from __future__ import annotations

import re

import pytest

from desk.article.html import clean
from mail.inbound.sanitize import sanitize_html
from web.tickets.rendering import has_remote_images, inert_html

HOSTILE_IMAGE_SOURCES = [
    "/\\evil.example/a.png",
    "\\\\evil.example/a.png",
    "http:\\\\evil.example/a.png",
    "https:\\/evil.example/a.png",
    "//evil.example/a.png",
    "///evil.example/a.png",
    "http:evil.example/a.png",
    "HtTpS://EVIL.example/a.png",
    " \t https://evil.example/a.png",
    "\x01https://evil.example/a.png",
    "ht\ttps://evil.example/a.png",
    "/\n/evil.example/a.png",
    "&#x2F;&#x2F;evil.example/a.png",
    "&#47;&#92;evil.example/a.png",
    "https&#58;//evil.example/a.png",
]
CLEANERS = [sanitize_html, lambda raw: str(inert_html(raw))]


def live_sources(html: str) -> list[str]:
    """The ``src`` values a browser would load (data-remote-src is not one)."""
    return re.findall(r'<img\b[^>]*?\ssrc="([^"]*)"', html)


@pytest.mark.parametrize("cleaner", CLEANERS, ids=["mail", "page"])
@pytest.mark.parametrize("source", HOSTILE_IMAGE_SOURCES)
def test_a_remote_image_in_any_spelling_keeps_no_live_source(cleaner, source):
    html = cleaner(f'<p>hi</p><img src="{source}" alt="x">')
    assert live_sources(html) == []
    # It is kept, resolved, for the explicit "show images".
    assert re.search(r'data-remote-src="https?://evil\.example/a\.png"', html), html
    assert has_remote_images(html)


@pytest.mark.parametrize("cleaner", CLEANERS, ids=["mail", "page"])
@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "&#106;avascript:alert(1)",
        " \x01javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "/logout",
        "relative/path",
        "cid:part@local",
    ],
)
def test_links_keep_only_http_https_and_mailto(cleaner, href):
    html = cleaner(f'<a href="{href}">click</a>')
    assert "href" not in html
    assert "click" in html


@pytest.mark.parametrize("cleaner", CLEANERS, ids=["mail", "page"])
def test_backslash_and_scheme_relative_links_are_resolved_to_the_host_they_lead_to(cleaner):
    html = cleaner('<a href="/\\evil.example/x">a</a><a href="MAILTO:help@example.org">b</a>')
    assert 'href="https://evil.example/x"' in html
    assert 'href="mailto:help@example.org"' in html


@pytest.mark.parametrize("cleaner", CLEANERS, ids=["mail", "page"])
@pytest.mark.parametrize(
    "source",
    [
        "data:image/svg+xml,<svg onload=alert(1)>",
        "data:image/png;base64,iVBORw0K",
        "/tickets/1",
        "javascript:x",
    ],
)
def test_data_and_local_image_sources_are_dropped(cleaner, source):
    html = cleaner(f'<img src="{source}" alt="x">')
    assert live_sources(html) == []
    assert not has_remote_images(html)


def test_a_forged_data_remote_src_is_resolved_or_dropped_too():
    assert clean('<img data-remote-src="javascript:alert(1)">') == "<img>"
    assert 'data-remote-src="https://evil.example/q"' in clean('<img data-remote-src="/\\evil.example/q">')


def test_cid_images_stay_and_are_mapped_to_the_attachment_on_the_page():
    html = inert_html(
        '<img src="CID:logo@local" alt="logo">', lambda cid: "/attachments/7" if cid == "logo@local" else None
    )
    assert live_sources(str(html)) == ["/attachments/7"]


def test_an_address_cannot_break_out_of_its_attribute():
    html = clean('<img src="https://evil.example/a&quot; onerror=&quot;alert(1)">')
    assert "onerror=" not in html.replace("%22", "").split('data-remote-src="', 1)[0]
    assert " onerror" not in html
    assert live_sources(html) == []


def test_both_paths_clean_alike():
    hostile = (
        '<img src="/\\evil.example/t.gif"><a href="http:\\\\evil.example">x</a><script>alert(1)</script>'
    )
    assert sanitize_html(hostile) == str(inert_html(hostile))
