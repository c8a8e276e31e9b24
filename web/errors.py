"""Friendly error pages: HTTP errors, expired forms (CSRF) and Ticketflow errors.

No error shows a trace.  The texts live in ``templates/error.html``; this module only
chooses the status code and what kind of error it was.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, make_response, render_template
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from core.errors import TicketflowError

log = logging.getLogger(__name__)

# Headers of an HTTP error worth keeping on our own page (405 says which methods exist).
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def init_app(app: Flask) -> None:
    """Register the error handlers on ``app``."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(TicketflowError, _ticketflow_error)
    app.register_error_handler(StaleDataError, _stale_data)


def render_error(code: int, *, reason: str = "", message: str = "") -> Response:
    """The error page for ``code``; ``reason`` picks a more specific text in the template."""
    context = {"code": code, "reason": reason, "message": message}
    if code >= 500:
        # A server error may come from a broken database, so this page must not need it:
        # rendered without context processors (Flask-Login's loads the signed-in agent)
        # and without the account part of the header.
        template = current_app.jinja_env.get_template("error.html")
        return make_response(template.render(**context, show_account=False), code)
    return make_response(render_template("error.html", **context), code)


def _csrf_error(exc: CSRFError) -> Response:
    log.info("refused a request without a valid CSRF token: %s", exc.description)
    return render_error(400, reason="csrf")


def _http_error(exc: HTTPException) -> Response:
    code = exc.code or 500
    response = render_error(code)
    for name, value in exc.get_headers():
        if name in _KEPT_HEADERS:
            response.headers[name] = value
    return response


def _ticketflow_error(exc: TicketflowError) -> Response:
    status = exc.http_status
    if status >= 500:
        log.error("%s: %s", exc.code, exc.message)
        return render_error(status)
    # The page speaks the agent's language; the API keeps the English ``message``.
    return render_error(status, reason=exc.code, message=exc.translated(gettext))


def _stale_data(_exc: StaleDataError) -> Response:
    # A flush found that another request changed the row first (optimistic locking).
    return render_error(409)
