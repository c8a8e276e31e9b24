"""Languages of the UI: English, German, Russian and Hungarian (Flask-Babel).

The language is, in order: the one chosen with the switch in the header (kept in the
session, and saved as the agent's language), the signed-in agent's language, the browser's
preference, English.  Templates mark text with ``_("…")``; ``make translations`` extracts
it into ``web/translations/*/LC_MESSAGES/messages.po`` and the build compiles the catalogs.
"""

from __future__ import annotations

from pathlib import Path

import flask_login
from flask import Blueprint, Flask, g, request, session
from flask.typing import ResponseReturnValue
from flask_babel import Babel

from web import redirects
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


def init_app(app: Flask) -> None:
    """Install Flask-Babel and the language switch."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    Babel(app, locale_selector=select_locale)
    app.register_blueprint(bp)

    @app.context_processor
    def languages() -> dict[str, object]:
        return {"languages": LANGUAGES, "current_language": select_locale()}
