"""The portal's own sign-in state: a cookie scoped to ``/portal`` and a customer session row.

The cookie holds a random token (only its hash is stored); every request looks the session
up again, so a sign-out or an invalidated customer user ends it at once.
"""

from __future__ import annotations

from typing import cast

from flask import current_app, g, request
from werkzeug.wrappers import Response

from core.config import Settings
from desk.customer.models import CustomerUser
from desk.portal import service as portal_service
from desk.portal.models import CustomerSession
from web.db import get_db

COOKIE = "ticketflow_portal"
PATH = "/portal"
# Tokens are ``tf_`` and 43 URL-safe characters; anything much longer is not one of ours.
_MAX_TOKEN_LENGTH = 100


def _settings() -> Settings:
    return cast(Settings, current_app.extensions["ticketflow.settings"])


def current_session() -> CustomerSession | None:
    """The live portal session of this request, looked up once per request."""
    if "portal_session" not in g:
        token = request.cookies.get(COOKIE, "")
        found = None
        if token and len(token) <= _MAX_TOKEN_LENGTH:
            config = _settings()
            found = portal_service.find_session(
                get_db(), token=token, idle=config.session_idle, lifetime=config.session_lifetime
            )
        g.portal_session = found
    return cast(CustomerSession | None, g.portal_session)


def current_customer() -> CustomerUser | None:
    """The signed-in customer user, or None."""
    found = current_session()
    return found.customer_user if found is not None else None


def sign_in(response: Response, customer: CustomerUser) -> Response:
    """Open a new portal session for ``customer`` and put its token into ``response``'s cookie."""
    previous = current_session()
    if previous is not None:
        portal_service.end_session(get_db(), customer_session=previous)
    config = _settings()
    _, token = portal_service.start_session(get_db(), customer=customer, lifetime=config.session_lifetime)
    response.set_cookie(
        COOKIE,
        token,
        path=PATH,
        httponly=True,
        samesite="Lax",
        secure=config.env == "production",
        max_age=int(config.session_lifetime.total_seconds()),
    )
    return response


def sign_out(response: Response) -> Response:
    """End this browser's portal session and drop the cookie."""
    found = current_session()
    if found is not None:
        portal_service.end_session(get_db(), customer_session=found)
    response.delete_cookie(COOKIE, path=PATH)
    return response
