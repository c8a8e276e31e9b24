"""Translations outside a request: message ids, catalogs by language, and the extractors.

The catalogs are the web's (``web/translations/<lang>/LC_MESSAGES/messages.mo``), compiled from
the one ``messages.po`` per language that ``make translations`` fills.  Code below the web
(flows, reports, desk, engine) cannot use Flask-Babel: it marks texts with :func:`N_` (a
no-op the extractor knows) and, when a text is written for a person (a mail to an agent),
asks :func:`translator` for that person's language.  Errors carry their message id and
parameters (``core.errors``), and the channel translates them in the request's language.

Two extractors let ``pybabel extract -F babel.cfg`` (``make translations``) collect texts that
are not Python or templates: :func:`extract_form_schema` (the titles, descriptions and choice
titles of the shipped JSON Schema task forms) and :func:`extract_bpmn_names` (the ``name``
attributes of the shipped BPMN processes: task names in the inbox, labels in the diagram).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import dates as babel_dates
from babel.support import NullTranslations, Translations

# The catalogs live with the web (its templates use them too); this is only their path, so
# core imports nothing of ours.
TRANSLATIONS = Path(__file__).resolve().parents[1] / "web" / "translations"
DOMAIN = "messages"
# The languages the product speaks; English is the source language (no catalog).
LANGUAGES = ("en", "de", "ru", "hu")

Gettext = Callable[..., str]


def N_(text: str) -> str:  # noqa: N802 - the conventional name the extractor looks for
    """Mark ``text`` as a message id without translating it (it is translated later)."""
    return text


@lru_cache(maxsize=8)
def _catalog(language: str) -> NullTranslations:
    if language not in LANGUAGES or language == "en":
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS), [language], DOMAIN)


def translator(language: str | None) -> Gettext:
    """``gettext`` for ``language`` (English for an unknown one): ``_(msgid, **params)``.

    Named parameters are filled in after the translation, as Flask-Babel does, so a msgid
    reads ``"ticket %(number)s"`` in every language.
    """
    catalog = _catalog((language or "en").split("-")[0].split("_")[0].lower())

    def gettext(msgid: str, **params: Any) -> str:
        return interpolate(catalog.gettext(msgid), msgid, params)

    return gettext


def interpolate(text: str, msgid: str, params: Mapping[str, Any]) -> str:
    """``text % params``; a translation with a broken placeholder falls back to the msgid."""
    if not params:
        return text
    try:
        return text % params
    except (KeyError, ValueError, TypeError):
        return msgid % params


def time_zone_name(name: str | None) -> str | None:
    """``name`` when it is an IANA time zone zoneinfo knows (``Europe/Berlin``), else None."""
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name or "\0" in name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def _aware(value: datetime) -> datetime:
    # The database keeps UTC; a naive value is one of those.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def format_datetime(value: datetime, *, language: str | None, zone: str | None) -> str:
    """``value`` as date and time for a reader of ``language`` in time zone ``zone`` (Babel):
    the locale's order, a medium date and a short time (``01.12.2026, 16:40``)."""
    lang = language if language in LANGUAGES else "en"
    local = _aware(value).astimezone(ZoneInfo(time_zone_name(zone) or "UTC"))
    pattern = str(babel_dates.get_datetime_format("medium", locale=lang))
    return pattern.replace("{1}", babel_dates.format_date(local, "medium", locale=lang)).replace(
        "{0}", babel_dates.format_time(local, "short", locale=lang)
    )


def format_date(value: date | datetime, *, language: str | None, zone: str | None) -> str:
    """A date (or the day of a time in ``zone``) for a reader of ``language``."""
    lang = language if language in LANGUAGES else "en"
    if isinstance(value, datetime):
        value = _aware(value).astimezone(ZoneInfo(time_zone_name(zone) or "UTC")).date()
    return str(babel_dates.format_date(value, "medium", locale=lang))


@lru_cache(maxsize=1)
def time_zone_names() -> tuple[str, ...]:
    """The IANA time zones an agent can choose, sorted (``UTC`` first)."""
    names = {n for n in available_timezones() if "/" in n and not n.startswith(("Etc/", "SystemV/"))}
    return ("UTC", *sorted(names))


# -- extractors (babel.cfg) -------------------------------------------------------------------

# Keys of a JSON Schema whose text a person reads, and the lists of texts (an ``enum``'s
# titles, web.tickets.taskforms).
FORM_TEXT_KEYS = ("title", "description")
FORM_TEXT_LISTS = ("x-enum-titles", "enumNames")
# Elements whose ``name`` is an identifier that only the engine reads, never a person
# (messages, signals, a called process's inputs and outputs).
_TECHNICAL_ELEMENTS = frozenset(
    {"message", "signal", "error", "escalation", "dataStore", "dataInput", "dataOutput"}
)
_BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

Extracted = Iterator[tuple[int, str, str, list[str]]]


# Values the process reads, never shown as text (and per-language variants, ``title@de``,
# which are translations already).
_FORM_VALUE_KEYS = frozenset({"enum", "const", "default", "examples", "pattern", "format", "x-requires"})


def _own_texts(schema: dict[str, Any]) -> Iterator[str]:
    for key in FORM_TEXT_KEYS:
        value = schema.get(key)
        if isinstance(value, str) and value.strip():
            yield value
    for key in FORM_TEXT_LISTS:
        titles = schema.get(key)
        if isinstance(titles, list):
            yield from (t for t in titles if isinstance(t, str) and t.strip())


def form_texts(schema: Any) -> Iterator[str]:
    """Every text of a form schema a person reads: titles and descriptions at every level
    (the form, its fields, the titles of ``oneOf``/``anyOf`` choices and of ``enum`` values,
    nested objects)."""
    if isinstance(schema, list):
        for item in schema:
            yield from form_texts(item)
        return
    if not isinstance(schema, dict):
        return
    yield from _own_texts(schema)
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            # Field names are keys, not texts (a field may be called "title").
            for spec in value.values():
                yield from form_texts(spec)
        elif key not in (*FORM_TEXT_KEYS, *FORM_TEXT_LISTS, *_FORM_VALUE_KEYS) and "@" not in key:
            yield from form_texts(value)


def extract_form_schema(
    fileobj: IO[bytes], keywords: object, comment_tags: object, options: object
) -> Extracted:
    """Babel extractor for ``bpmn/forms/*.json``: one message per form text."""
    schema = json.loads(fileobj.read().decode("utf-8"))
    for text in form_texts(schema):
        yield 1, "", text, []


def bpmn_names(xml: bytes) -> Iterator[str]:
    """The ``name`` attributes of a BPMN document that a person reads (tasks, events,
    gateways, lanes, pools, processes, labelled flows), in document order."""
    root = ElementTree.fromstring(xml)  # noqa: S314 - our own shipped files, not input
    for element in root.iter():
        namespace, _, local = element.tag.partition("}")
        if namespace.lstrip("{") != _BPMN_NS or local in _TECHNICAL_ELEMENTS:
            continue
        name = element.get("name")
        if name and name.strip():
            yield name


def extract_bpmn_names(
    fileobj: IO[bytes], keywords: object, comment_tags: object, options: object
) -> Extracted:
    """Babel extractor for ``bpmn/*.bpmn``: one message per element name."""
    for name in bpmn_names(fileobj.read()):
        yield 1, "", name, []
