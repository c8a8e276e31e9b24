"""The language of an API request, for the few fields the API gives in the reader's language.

The API speaks English (``message``, names, codes); a field ending in ``_localized`` is the
same text in the request's language: the ``Accept-Language`` header when it names one of the
product's languages (the client chose it for this request), otherwise the token's agent's (or
customer's) own language, otherwise English.  The texts come from the web's catalogs through
:func:`core.i18n.translator`, the same msgids the pages use (task names: the BPMN names the
catalog extracts; a name that is no msgid stays as written).
"""

from __future__ import annotations

from flask import g, has_request_context, request

from core.i18n import LANGUAGES, translator

# Where :func:`web.api.common.authenticate` keeps the token's actor for the request.
ACTOR_KEY = "ticketflow_api_actor"


def request_language() -> str:
    """The request's language: ``Accept-Language``, else the token's owner's, else ``en``."""
    if not has_request_context():
        return "en"
    if request.headers.get("Accept-Language"):
        chosen = request.accept_languages.best_match(list(LANGUAGES))
        if chosen:
            return str(chosen)
    own = getattr(g.get(ACTOR_KEY), "language", None)
    return own if own in LANGUAGES else "en"


def localized(text: str | None) -> str:
    """``text`` (a msgid such as a task's name) in the request's language."""
    return translator(request_language())(text) if text else ""
