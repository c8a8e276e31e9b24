"""Set-password links: the admin's button on the agent page and the page the link opens.

The link's page is outside /admin (the agent is not signed in) on a blueprint of its own.
Opening it shows a form only; the token is spent when the agent submits a password, so a
mail scanner that follows the link uses nothing up.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, gettext

from core.errors import NotFound, ValidationError
from desk.agent import password_link
from desk.agent.models import Agent
from flows import agent_password
from web.admin.forms import admin_actor
from web.admin.views import bp
from web.auth import login_required
from web.db import get_db

link_bp = Blueprint("password_link", __name__, url_prefix="/password")


def _link_mail(agent: Agent, token: str) -> tuple[str, str]:
    link = url_for("password_link.choose", token=token, _external=True)
    hours = int(password_link.LIFETIME.total_seconds() // 3600)
    with force_locale(agent.language or "en"):
        subject = gettext("Choose your password for the help desk")
        text = gettext(
            "Hello %(name)s,\n\nan administrator asked for a password for your help desk account "
            "(login: %(login)s). Open this link to choose it:\n\n%(link)s\n\n"
            "The link works once and for %(hours)s hours.",
            name=agent.full_name,
            login=agent.login,
            link=link,
            hours=hours,
        )
    return subject, text


@bp.post("/agents/<int:agent_id>/password-link")
@login_required
def agent_password_link(agent_id: int) -> ResponseReturnValue:
    """Mail the agent a single-use link to choose a password (through the outbox)."""
    from web.admin.agents import edit_page

    actor = admin_actor()
    try:
        with get_db().begin_nested():
            agent_password.send_password_link(get_db(), actor=actor, agent_id=agent_id, compose=_link_mail)
    except ValidationError as exc:
        return edit_page(agent_id, errors=exc.errors)
    flash("admin_link_sent", "success")
    return redirect(url_for("admin.agent_edit", agent_id=agent_id), code=303)


@link_bp.route("/<token>", methods=["GET", "POST"])
def choose(token: str) -> ResponseReturnValue:
    """The page of the mailed link: choose a password (twice), then sign in with it."""
    if len(token) > 100:
        abort(404)
    session = get_db()
    row = password_link.find_link(session, token=token)
    if row is None:
        return render_template("password_link.html", token=token, invalid=True, errors={}), 404
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("confirm", ""):
            errors["confirm"] = [gettext("The two passwords differ.")]
        else:
            try:
                with session.begin_nested():
                    password_link.use_link(session, token=token, password=password)
            except ValidationError as exc:
                errors = exc.errors
            except NotFound:
                return render_template("password_link.html", token=token, invalid=True, errors={}), 404
            else:
                flash("password_chosen", "success")
                return redirect(url_for("auth.login"), code=303)
    page = render_template("password_link.html", token=token, login=row.agent.login, errors=errors)
    return page, 422 if errors else 200
