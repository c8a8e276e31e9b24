"""Languages of the UI: English, German, Russian and Hungarian (Flask-Babel).

The language is, in order: the one chosen with the switch in the header (kept in the
session, and saved as the agent's language), the signed-in agent's language, the browser's
preference, English.  Templates mark text with ``_("…")``; ``make translations`` extracts
it into ``web/translations/*/LC_MESSAGES/messages.po`` and the build compiles the catalogs.

Besides the chrome, this module translates what is data in English: task forms
(:func:`translate_form`), task names (``|task_name``), dates and times in the agent's locale
and time zone (``|datetime``, ``|date``); :mod:`web.labels` does states, priorities, history
types and channels.  docs/i18n.md describes the whole path.
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from pathlib import Path
from typing import Any

import flask_login
from flask import Blueprint, Flask, g, request, session
from flask.typing import ResponseReturnValue
from flask_babel import Babel, get_locale, gettext

from core import i18n
from core.i18n import FORM_TEXT_KEYS, FORM_TEXT_LISTS, time_zone_name
from web import labels, redirects
from web.auth.users import AgentUser
from web.db import get_db

LANGUAGES = {"en": "English", "de": "Deutsch", "ru": "Русский", "hu": "Magyar"}
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
_SESSION_KEY = "language"

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The language of the current request."""
    # The portal sets the signed-in customer's own language (web.portal.views).
    portal_language = g.get("portal_language")
    if portal_language in LANGUAGES:
        return str(portal_language)
    chosen = session.get(_SESSION_KEY)
    if chosen in LANGUAGES:
        return str(chosen)
    user = flask_login.current_user
    if isinstance(user, AgentUser) and user.agent.language in LANGUAGES:
        return user.agent.language
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"


@bp.post("/language")
def choose_language() -> ResponseReturnValue:
    """Switch the UI language (a form in the header; CSRF-protected like every form)."""
    code = request.form.get("language", "")
    if code in LANGUAGES:
        session[_SESSION_KEY] = code
        user = flask_login.current_user
        if isinstance(user, AgentUser):
            agent = get_db().merge(user.agent)
            agent.language = code
    # Only a path on this site: never an open redirect.
    return redirects.redirect_to(request.form.get("next"), default="/")


def select_timezone() -> str:
    """The time zone of the current request: the signed-in agent's, otherwise UTC."""
    user = flask_login.current_user
    if isinstance(user, AgentUser):
        return time_zone_name(getattr(user.agent, "time_zone", None)) or "UTC"
    return "UTC"


def _language() -> str:
    return str(get_locale() or "en")


def format_when(value: datetime | None, *, zone: str | None = None, locale: str | None = None) -> str:
    """``value`` as date and time in the agent's language and time zone (the ``|datetime``
    filter); ``zone`` and ``locale`` default to the request's."""
    if value is None:
        return ""
    return i18n.format_datetime(value, language=locale or _language(), zone=zone or select_timezone())


def format_day(value: date | datetime | None, *, zone: str | None = None, locale: str | None = None) -> str:
    """A date (or the day of a time, in the agent's time zone) in the agent's language (``|date``)."""
    if value is None:
        return ""
    return i18n.format_date(value, language=locale or _language(), zone=zone or select_timezone())


def task_name(text: str | None) -> str:
    """A task's (BPMN element's) name in the request's language.

    The shipped processes' names are in the catalog (``core.i18n.extract_bpmn_names``); a
    name a designer wrote that is no msgid is shown as written.
    """
    return str(gettext(text)) if text else ""


def _localized(node: dict[str, Any], key: str, language: str) -> Any:
    variant = node.get(f"{key}@{language}")
    if isinstance(variant, str | list) and variant:
        return variant
    value = node[key]
    if isinstance(value, str):
        return str(gettext(value)) if value.strip() else value
    if isinstance(value, list):
        return [str(gettext(v)) if isinstance(v, str) and v.strip() else v for v in value]
    return value


def _translate_node(node: Any, language: str) -> Any:
    if isinstance(node, list):
        return [_translate_node(item, language) for item in node]
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    for key, value in node.items():
        text = isinstance(value, str) if key in FORM_TEXT_KEYS else isinstance(value, list)
        if key in (*FORM_TEXT_KEYS, *FORM_TEXT_LISTS) and text:
            result[key] = _localized(node, key, language)
        elif key in ("enum", "const", "default", "examples"):
            result[key] = copy.deepcopy(value)  # values the process reads, not texts
        else:
            result[key] = _translate_node(value, language)
    return result


def translate_form(schema: dict[str, Any] | None, language: str | None = None) -> dict[str, Any] | None:
    """A copy of a task form's JSON Schema with its texts in ``language`` (the request's).

    Titles, descriptions and enum titles (``x-enum-titles``/``enumNames``) are message ids of
    the catalog (the shipped forms are extracted by ``core.i18n.extract_form_schema``); a
    form drawn in the designer may carry its own per-language variants instead, as
    ``"title@de": "…"`` next to ``"title"`` (the same for ``description`` and the enum title
    lists), which win over the catalog.  Only for showing: the runtime validates against the
    stored schema, and values (``enum``, ``const``) are never touched.
    """
    if schema is None:
        return None
    translated = _translate_node(schema, language or str(get_locale() or "en"))
    return translated if isinstance(translated, dict) else schema


def init_app(app: Flask) -> None:
    """Install Flask-Babel, the language switch and the filters of names, dates and forms."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.register_blueprint(bp)
    labels.init_app(app)
    app.jinja_env.filters.update(datetime=format_when, date=format_day, task_name=task_name)

    @app.context_processor
    def languages() -> dict[str, object]:
        return {"languages": LANGUAGES, "current_language": select_locale()}
