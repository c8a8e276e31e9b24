"""The one way to follow a target the client named (``next``): only paths on this site.

Every redirect to user input goes through :func:`safe_path` (the sign-in page's ``next``,
the language switch, the inbox's claim and release, the ticket actions).  A browser reads
a ``Location`` leniently: it drops tabs and newlines anywhere, strips leading controls and
spaces, and treats backslashes as slashes, so ``/\\t/evil.example``, ``/\\evil.example`` and
``//evil.example`` all lead off the site.  Rather than guess how each is read, anything that
could be read two ways is refused: the target must be a ``/``-rooted path (with an optional
query) made only of visible ASCII, with no backslash, no second ``/`` at the start, no scheme
or host, and none of those (nor a control character) hidden behind percent-encoding either.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from flask import redirect
from werkzeug.wrappers import Response

MAX_LENGTH = 2000
# As given: visible ASCII only (our own URLs are percent-encoded): no controls, spaces or
# DEL, nothing a browser would drop or fold.
_VISIBLE_ASCII = re.compile(r"^[\x21-\x7e]*$")
# Once decoded: no controls (an encoded space or letter is fine, an encoded tab is not).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Percent-encoded slash and backslash in the path: some servers and proxies decode them.
_ENCODED_SLASH = re.compile(r"%(2f|5c)", re.IGNORECASE)


def safe_path(target: str | None) -> str | None:
    """``target`` when it is a path on this site that every browser reads the same, else None."""
    if not target or len(target) > MAX_LENGTH:
        return None
    # Checked as given and once decoded: /%09/evil.example must not become //evil.example
    # in some reader that decodes before it parses.
    if not _VISIBLE_ASCII.match(target):
        return None
    for candidate in (target, unquote(target)):
        if _CONTROL.search(candidate) or "\\" in candidate:
            return None
        if not candidate.startswith("/") or candidate.startswith("//"):
            return None
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return None
    if _ENCODED_SLASH.search(urlsplit(target).path):
        return None
    return target


def redirect_to(target: str | None, *, default: str, code: int = 303) -> Response:
    """A redirect to ``target`` when :func:`safe_path` accepts it, otherwise to ``default``.

    ``default`` is one of our own URLs (``url_for``); it is checked too, so a mistake can
    never turn into an open redirect, and falls back to the front page.
    """
    location = safe_path(target) or safe_path(default) or "/"
    return redirect(location, code=code)
