"""Sign-in and sign-out pages, and the agent's own account page (their sessions)."""

from __future__ import annotations

import logging

import flask_login
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from core.errors import ValidationError
from core.i18n import time_zone_names
from desk.agent import service as agent_service
from web import redirects
from web.auth import get_limiter, login_required
from web.auth.forms import LoginForm
from web.auth.users import AgentUser, current_user, settings
from web.db import get_db

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)


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
    address = request.remote_addr or "unknown"
    limiter = get_limiter()
    refusal = limiter.check(login=login_name, address=address)
    if refusal is not None:
        # Refused before the password is looked at: guessing gets no answer at all.
        log.warning("sign-in refused (%s) for %r from %s", refusal.reason, login_name, address)
        page = render_template("auth/login.html", form=form, next_url=next_url, refusal=refusal)
        return page, 429, {"Retry-After": str(refusal.retry_after)}

    db = get_db()
    agent = agent_service.authenticate(db, login=login_name, password=form.password.data)
    if agent is None:
        limiter.record_failure(login=login_name, address=address)
        log.info("failed sign-in for %r from %s", login_name, address)
        return render_template("auth/login.html", form=form, next_url=next_url, failed=True)

    limiter.record_success(login=login_name, address=address)
    # A fresh cookie and a new server-side session: nothing from before sign-in carries
    # over, and a cookie copied before it opens nothing.
    session.clear()
    agent_session, token = agent_service.start_session(
        db,
        agent=agent,
        lifetime=settings().session_lifetime,
        address=address,
        user_agent=request.user_agent.string,
    )
    flask_login.login_user(AgentUser(agent, agent_session, token))
    return redirect(next_url or url_for("dashboard.index"))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out (POST only, CSRF-checked: a link or image elsewhere cannot sign you out)."""
    user = flask_login.current_user._get_current_object()
    if isinstance(user, AgentUser):
        # Ended on the server too: a copy of the cookie opens nothing any more.
        agent_service.end_session(get_db(), agent_session=user.agent_session)
    return _signed_out("signed_out")


@bp.get("/account")
@login_required
def account() -> ResponseReturnValue:
    """The signed-in agent's account: where they are signed in, and "sign out everywhere"."""
    user = current_user()
    config = settings()
    sessions = agent_service.list_sessions(
        get_db(), agent=user.agent, idle=config.session_idle, lifetime=config.session_lifetime
    )
    return render_template(
        "auth/account.html",
        sessions=sessions,
        current_session_id=user.agent_session.id,
        time_zones=time_zone_names(),
        time_zone=user.agent.time_zone or "UTC",
    )


@bp.post("/account/time-zone")
@login_required
def set_time_zone() -> ResponseReturnValue:
    """Choose the time zone the agent's pages show times in."""
    db = get_db()
    agent = db.merge(current_user().agent)
    try:
        agent_service.set_time_zone(db, actor=agent, agent=agent, time_zone=request.form.get("time_zone", ""))
    except ValidationError as exc:
        fields = exc.translated_errors(gettext).get("time_zone") or [exc.translated(gettext)]
        flash("; ".join(fields), "error")
        return redirect(url_for("auth.account"), 303)
    flash(gettext("Times are now shown in %(zone)s.", zone=agent.time_zone), "message")
    return redirect(url_for("auth.account"), 303)


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere() -> ResponseReturnValue:
    """End every session of the signed-in agent, this one included."""
    agent = current_user().agent
    ended = agent_service.end_all_sessions(get_db(), actor=agent, agent=agent)
    log.info("agent %s signed out everywhere (%d sessions)", agent.login, ended)
    return _signed_out("signed_out_everywhere")


def _signed_out(message: str) -> ResponseReturnValue:
    flask_login.logout_user()
    session.clear()
    flash(message, "info")
    return redirect(url_for("auth.login"))


def safe_next_url(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None (no open redirects).

    The one rule of :func:`web.redirects.safe_path`: ``/``-rooted paths with an optional
    query, nothing a browser could read as another host.
    """
    return redirects.safe_path(target)
