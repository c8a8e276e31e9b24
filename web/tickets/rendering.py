"""Showing article bodies safely.

HTML bodies are sanitized when they are stored (``mail.inbound.sanitize``).  They are cleaned
once more here, under the same policy (:mod:`desk.article.html`), before they are marked
safe: a body that reached the database some other way (an import, a bug, an old row) still
cannot run script in an agent's browser or fetch anything from elsewhere.  Remote images keep
only ``data-remote-src`` (a resolved ``https``/``http`` address) until the agent asks for
them; ``cid:`` images point at the article's stored attachments (an attached mail's own
``cid:`` images, inside its ``.eml``, are left without a source).

Plain-text bodies are split into what the sender wrote and the quoted text (lines starting
with ``>`` and the "On … wrote:" line before them), which the page collapses; HTML bodies
have their outermost ``<blockquote>`` elements collapsed the same way.

The BPMN served to the diagram has its labels in the agent's language where the file
carries translations (:func:`translated_bpmn`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lxml import etree
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


# --- HTML quotes -------------------------------------------------------------------------

_BLOCKQUOTE = re.compile(r"<(/?)blockquote\b[^>]*>", re.IGNORECASE)


def collapse_html_quotes(clean: Markup, summary: str) -> Markup:
    """Each outermost ``<blockquote>`` of a cleaned body inside a collapsed ``<details>``.

    ``clean`` comes from :func:`inert_html`; only our own ``details``/``summary`` tags are
    added around the quotes (``summary`` is escaped), so the result is as safe as the input.
    Unbalanced tags (the cleaner balances them; this is only a guard) leave the body as it is.
    """
    text = str(clean)
    depth = 0
    start = 0
    pieces: list[str] = []
    last = 0
    for match in _BLOCKQUOTE.finditer(text):
        if not match.group(1):
            if depth == 0:
                start = match.start()
            depth += 1
        else:
            depth -= 1
            if depth < 0:
                return clean
            if depth == 0:
                pieces.append(text[last:start])
                pieces.append(
                    Markup('<details class="quote"><summary>{}</summary>').format(summary)
                    + Markup(text[start : match.end()])  # noqa: S704 (a piece of the cleaned body)
                    + Markup("</details>")
                )
                last = match.end()
    if depth != 0:
        return clean
    pieces.append(text[last:])
    return Markup("".join(pieces))  # noqa: S704 (the cleaned body with our wrappers)


# --- BPMN for the diagram ----------------------------------------------------------------

_BPMN_DI_SHAPE = re.compile(r"<(?:[\w-]+:)?BPMNShape\b")


def has_diagram_layout(bpmn_xml: str) -> bool:
    """True when the BPMN carries diagram interchange (shapes to draw), not only the model."""
    return _BPMN_DI_SHAPE.search(bpmn_xml) is not None


def translated_bpmn(bpmn_xml: str, language: str) -> str:
    """The BPMN with each element's ``name`` in ``language`` where the file carries one.

    Supported, on any element (task, event, gateway, lane, participant, flow):

    * an attribute ``name-<language>`` in any namespace, e.g. ``ticketflow:name-de="Sichten"``;
    * an extension property named ``name-<language>`` directly in the element's
      ``extensionElements`` (``spiffworkflow:property``, ``camunda:property`` or any other
      ``…:property`` with ``name`` and ``value``), as modelers write custom properties.

    Anything else keeps its ``name``; a file that does not parse is returned unchanged.
    """
    wanted = f"name-{language}"
    if wanted not in bpmn_xml:
        return bpmn_xml
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        root = etree.fromstring(bpmn_xml.encode("utf-8"), parser=parser)
    except (etree.XMLSyntaxError, ValueError):
        return bpmn_xml
    changed = False
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        label = _own_translation(element, wanted)
        if label is not None:
            element.set("name", label)
            changed = True
    if not changed:
        return bpmn_xml
    return str(etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8"))


def _own_translation(element: Any, wanted: str) -> str | None:
    for key, value in element.attrib.items():
        if etree.QName(key).localname == wanted:
            return str(value)
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == "extensionElements":
            for item in child.iter():
                is_property = isinstance(item.tag, str) and etree.QName(item).localname == "property"
                if is_property and item.get("name") == wanted and item.get("value") is not None:
                    return str(item.get("value"))
    return None
