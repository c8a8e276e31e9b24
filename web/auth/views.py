"""Sign-in and sign-out pages."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import flask_login
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from desk.agent import service as agent_service
from web.auth import get_limiter
from web.auth.forms import LoginForm
from web.auth.limiter import WINDOW_SECONDS, attempt_keys
from web.auth.users import AgentUser
from web.db import get_db

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

_MAX_NEXT_LENGTH = 2000


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the sign-in form; on valid credentials sign in and go on to ``next``."""
    next_url = safe_next_url(request.args.get("next"))
    if flask_login.current_user.is_authenticated:
        return redirect(next_url or url_for("dashboard.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form, next_url=next_url)

    login_name: str = form.login.data
    limiter = get_limiter()
    keys = attempt_keys(login=login_name, address=request.remote_addr or "unknown")
    if limiter.is_blocked(keys):
        # Refused before the password is looked at: guessing gets no answer at all.
        log.warning("sign-in refused (rate limit) for %r from %s", login_name, request.remote_addr)
        page = render_template("auth/login.html", form=form, next_url=next_url, rate_limited=True)
        return page, 429, {"Retry-After": str(WINDOW_SECONDS)}

    agent = agent_service.authenticate(get_db(), login=login_name, password=form.password.data)
    if agent is None:
        limiter.record_failure(keys)
        log.info("failed sign-in for %r from %s", login_name, request.remote_addr)
        return render_template("auth/login.html", form=form, next_url=next_url, failed=True)

    # Only the login's count: a success must not clear the address, or one known
    # password would let an address keep guessing other logins.
    login_key = keys[0]
    limiter.reset(login_key)
    # A fresh session for the signed-in agent: nothing from before sign-in carries over.
    session.clear()
    flask_login.login_user(AgentUser(agent))
    return redirect(next_url or url_for("dashboard.index"))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out (POST only, CSRF-checked: a link or image elsewhere cannot sign you out)."""
    flask_login.logout_user()
    session.clear()
    flash("signed_out", "info")
    return redirect(url_for("auth.login"))


def safe_next_url(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None (no open redirects).

    Accepted: ``/``-rooted paths with an optional query.  Refused: absolute and
    scheme-relative URLs (``https://x``, ``//x``), backslashes (browsers read ``/\\x`` as
    ``//x``), control characters and anything very long.
    """
    if not target or len(target) > _MAX_NEXT_LENGTH:
        return None
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
