"""The one HTML policy of article bodies, shared by the mail pipeline and the web pages.

``mail.inbound.sanitize`` cleans an inbound mail's HTML with :func:`clean` before it is
stored, and ``web.tickets.rendering`` cleans it once more with the same function before it is
shown (a body that reached the database another way still cannot run script).  nh3 (Ammonia)
removes scripts, event handlers, styles, forms and frames; every URL that survives the
allow-list is then *resolved the way a browser reads it* before it is judged:

* tabs and newlines anywhere are dropped, leading and trailing controls and spaces stripped;
* backslashes count as slashes (``/\\host``, ``\\\\host`` and ``http:\\\\host`` are all hosts);
* ``//host`` and ``http:host`` are absolute, the scheme's case does not matter;
* entities are already decoded by the HTML parser when the value reaches us.

Links keep only ``http``, ``https`` and ``mailto`` targets.  An image keeps ``src`` only for
``cid:`` (the mail's own inline parts); a remote image keeps its resolved ``https``/``http``
address only as ``data-remote-src``, which no browser fetches, so the sender cannot see that
the mail was read until an agent asks to show the images.  Anything else (relative paths,
``data:``, unknown schemes, control characters) is dropped.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import quote, urlsplit, urlunsplit

import nh3

REMOTE_SRC = "data-remote-src"

TAGS = frozenset(nh3.ALLOWED_TAGS - {"area", "map"})
ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height", "title", REMOTE_SRC},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "table": {"summary"},
    "ol": {"start"},
    "blockquote": set(),
}
# nh3's own scheme check runs first; the attribute filter below has the last word.
URL_SCHEMES = frozenset({"http", "https", "mailto", "cid"})
CLEAN_CONTENT_TAGS = frozenset({"script", "style", "title", "head", "template", "noscript"})
LINK_REL = "noopener noreferrer nofollow"

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
REMOTE_SCHEMES = frozenset({"http", "https"})
# What the WHATWG URL parser does before anything else.
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_C0_OR_SPACE = "".join(chr(code) for code in range(0x21))
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):(.*)$", re.DOTALL)
# Characters that have no place in a URL we hand on (they would be read differently by
# different parsers).
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f\"<>`]")
_HOST = re.compile(r"^[A-Za-z0-9.\-_~%!$&'()*+,;=:\[\]@]+$")


def resolve_url(value: str) -> tuple[str, str] | None:
    """``(scheme, url)`` as a browser would read ``value``, or None when it names nothing.

    A scheme-relative value (``//host``, after backslashes became slashes) gets ``https``,
    which is what the page it is shown on uses.  A value without a scheme and without a host
    (a path on our own site) is None: mail has no business pointing at our pages.
    """
    url = _TAB_OR_NEWLINE.sub("", value).strip(_C0_OR_SPACE)
    if not url:
        return None
    match = _SCHEME.match(url)
    if match is None:
        url = url.replace("\\", "/")
        if not url.startswith("//"):
            return None
        return _resolve_remote("https", url.lstrip("/"))
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme in REMOTE_SCHEMES:
        # Special schemes: backslashes are slashes, and any number of them (even none) ends
        # at the host: http:host, http:/host and http:\\\\host all mean http://host.
        return _resolve_remote(scheme, rest.replace("\\", "/").lstrip("/"))
    if _FORBIDDEN.search(rest):
        return None
    if scheme in ("mailto", "cid") and rest:
        return scheme, f"{scheme}:{rest}"
    return None


def _resolve_remote(scheme: str, rest: str) -> tuple[str, str] | None:
    parts = urlsplit(f"{scheme}://{rest}")
    host = parts.netloc.rsplit("@", 1)[-1]
    if not host or not _HOST.match(parts.netloc) or parts.netloc.startswith("@"):
        return None
    # Re-encoded so the address holds nothing a second parser could read differently.
    path = quote(parts.path, safe="/%:@!$&'()*+,;=-._~")
    query = quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    fragment = quote(parts.fragment, safe="/%:@!$&'()*+,;=-._~?")
    return scheme, urlunsplit((scheme, parts.netloc.lower(), path or "/", query, fragment))


def clean(raw: str) -> str:
    """``raw`` HTML made inert under the policy above (safe to show to agents and customers)."""
    # The filter can change a value but not rename an attribute: a remote image's src is
    # marked with a token nobody can guess and renamed to data-remote-src afterwards.
    marker = f"remote-{secrets.token_hex(16)}:"

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "a" and attribute == "href":
            resolved = resolve_url(value)
            return resolved[1] if resolved and resolved[0] in LINK_SCHEMES else None
        if tag == "img" and attribute in ("src", REMOTE_SRC):
            resolved = resolve_url(value)
            if resolved is None:
                return None
            scheme, url = resolved
            if scheme in REMOTE_SCHEMES:
                return marker + url if attribute == "src" else url
            return url if scheme == "cid" and attribute == "src" else None
        return value

    cleaned = nh3.clean(
        raw,
        tags=set(TAGS),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        attributes=ATTRIBUTES,
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        attribute_filter=keep,
    )
    return cleaned.replace(f' src="{marker}', f' {REMOTE_SRC}="')


def has_remote_images(body_html: str | None) -> bool:
    """True when the (cleaned) body holds remote images that are not shown."""
    return bool(body_html) and f"{REMOTE_SRC}=" in (body_html or "")
