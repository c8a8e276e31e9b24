"""HTML from mail made inert, under the one policy of :mod:`desk.article.html`.

Scripts, event handlers, ``javascript:`` links, styles, forms and frames are removed; every
URL is resolved as a browser reads it before it is judged.  Remote images are kept only as
``data-remote-src`` (no ``src``), so nothing is fetched — and no sender learns that the mail
was read — until an agent asks to show them.  Inline images (``cid:``) stay; the web layer
maps them to the stored attachments.
"""

from __future__ import annotations

import html
import re

import nh3

from desk.article import html as policy

_TAG = re.compile(r"<[^>]+>")
_BLOCK_END = re.compile(r"</(p|div|h[1-6]|li|tr|blockquote|pre|table)>|<br\s*/?>", re.IGNORECASE)


def sanitize_html(raw: str) -> str:
    """Return an inert version of ``raw`` HTML that is safe to show to agents and customers."""
    return policy.clean(raw)


def html_to_text(raw: str) -> str:
    """A readable plain-text version of an HTML body (for search and text-only views)."""
    # Block ends become line breaks before the tags (and with them the breaks) are removed.
    clean = nh3.clean(
        _BLOCK_END.sub("\n", raw), tags=set(), clean_content_tags={"script", "style", "title", "head"}
    )
    text = html.unescape(_TAG.sub("", clean))
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
