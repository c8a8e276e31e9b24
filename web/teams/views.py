"""``POST /availability``: an agent switches between front line, background work and away
(optionally until a time); the header shows the current state on every page.  Pickers of
agents (owner) mark who is away with ``away_agent_ids``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import flask_login
from flask import Blueprint, flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from core.errors import ValidationError
from desk.team import service as teams
from flows import teams as team_flows
from web import header, redirects
from web.auth import login_required
from web.auth.users import AgentUser, current_agent
from web.db import get_db

bp = Blueprint("teams", __name__)


def template_helpers() -> dict[str, Callable[..., object]]:
    """``my_availability()`` for the header, ``away_agent_ids(ids)`` for agent pickers and
    ``agents_offered(role)`` for the login fields of task forms (away agents left out)."""

    def my_availability() -> tuple[str, datetime | None] | None:
        user = flask_login.current_user
        if not isinstance(user, AgentUser):
            return None
        agent = current_agent()
        return header.facts(agent).availability[agent.id]

    def away_agent_ids(ids: Iterable[int]) -> set[int]:
        return header.away_ids(current_agent(), ids)

    def agents_offered(role_name: str) -> list[tuple[str, str]]:
        return [(a.login, a.full_name) for a in teams.available_members(get_db(), role_name=role_name)]

    return {
        "my_availability": my_availability,
        "away_agent_ids": away_agent_ids,
        "agents_offered": agents_offered,
    }


def _until() -> datetime | None:
    raw = request.form.get("until", "").strip()
    if not raw:
        return None
    try:
        # The datetime-local input has no zone; the header says the time is UTC.
        return datetime.fromisoformat(raw[:32]).replace(tzinfo=UTC)
    except ValueError:
        raise ValidationError("invalid time", errors={"until": ["enter a date and time"]}) from None


@bp.post("/availability")
@login_required
def switch() -> ResponseReturnValue:
    """Switch the signed-in agent's availability and go back to the page."""
    session, agent = get_db(), current_agent()
    try:
        with session.begin_nested():
            team_flows.set_availability(
                session, actor=agent, agent=agent, status=request.form.get("status", ""), until=_until()
            )
    except ValidationError as exc:
        details = "; ".join(m for messages in exc.errors.values() for m in messages)
        flash(gettext("Availability not changed: %(why)s", why=details or exc.message), "error")
    return redirects.redirect_to(request.form.get("next"), default="/")


@bp.get("/teams/load")
@login_required
def load_page() -> ResponseReturnValue:
    """The load of every queue the agent may read, for team leads (S11)."""
    session, agent = get_db(), current_agent()
    return render_template("teams/load.html", load=team_flows.load(session, actor=agent))
