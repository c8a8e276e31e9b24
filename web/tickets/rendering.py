"""Showing article bodies safely.

HTML bodies are sanitized when they are stored (``mail.inbound.sanitize``).  They are cleaned
once more here, under the same policy (:mod:`desk.article.html`), before they are marked
safe: a body that reached the database some other way (an import, a bug, an old row) still
cannot run script in an agent's browser or fetch anything from elsewhere.  Remote images keep
only ``data-remote-src`` (a resolved ``https``/``http`` address) until the agent asks for
them; ``cid:`` images point at the article's stored attachments (an attached mail's own
``cid:`` images, inside its ``.eml``, are left without a source).

Plain-text bodies are split into what the sender wrote and the quoted text (lines starting
with ``>`` and the "On … wrote:" line before them), which the page collapses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup

from desk.article import html as policy

_CID_SRC = re.compile(r'(<img\b[^>]*?\ssrc=")cid:([^"]*)(")', re.IGNORECASE)
# "On Mon, 3 Nov 2026 John Doe <john@example.com> wrote:" (and "… schrieb:", "… írta:").
_ATTRIBUTION = re.compile(r"^\s*(On|Am|Le|El|\d{4}[.-]).{0,300}(wrote|schrieb|écrit|escribió|írta)\s*:\s*$")


def inert_html(body_html: str, cid_url: Callable[[str], str | None] | None = None) -> Markup:
    """``body_html`` cleaned again and marked safe for the template."""
    clean = policy.clean(body_html)
    if cid_url is not None:

        def to_attachment(match: re.Match[str]) -> str:
            url = cid_url(match.group(2))
            return f"{match.group(1)}{url}{match.group(3)}" if url else match.group(0)

        clean = _CID_SRC.sub(to_attachment, clean)
    return Markup(clean)  # noqa: S704 (cleaned by nh3 just above)


def inert_embedded_html(body_html: str) -> Markup:
    """The HTML of an attached mail, cleaned as :func:`inert_html` does.

    Its ``cid:`` images are parts inside the ``.eml``, not attachments of the article, so they
    have no address on our site: their ``src`` is left empty (the browser fetches nothing).
    """
    return Markup(_CID_SRC.sub(r"\1\3", policy.clean(body_html)))  # noqa: S704 (cleaned by nh3)


def has_remote_images(body_html: str | None) -> bool:
    """True when the body holds remote images that are not shown yet."""
    return policy.has_remote_images(body_html)


@dataclass(frozen=True)
class Segment:
    """A run of lines of a plain-text body: written by the sender, or quoted."""

    text: str
    quoted: bool


def split_quotes(body_text: str) -> list[Segment]:
    """The body as alternating own and quoted segments (an attribution line joins its quote)."""
    lines = body_text.splitlines()
    quoted_flags = [line.lstrip().startswith(">") for line in lines]
    for i, line in enumerate(lines):
        following = next((j for j in range(i + 1, len(lines)) if lines[j].strip()), None)
        if _ATTRIBUTION.match(line) and following is not None and quoted_flags[following]:
            for k in range(i, following):
                quoted_flags[k] = True
    segments: list[Segment] = []
    for line, quoted in zip(lines, quoted_flags, strict=True):
        if segments and segments[-1].quoted == quoted:
            last = segments[-1]
            segments[-1] = Segment(text=f"{last.text}\n{line}", quoted=quoted)
        else:
            segments.append(Segment(text=line, quoted=quoted))
    kept = [Segment(text=s.text.strip("\n"), quoted=s.quoted) for s in segments if s.text.strip()]
    return kept or [Segment(text=body_text, quoted=False)]
