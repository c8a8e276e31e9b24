"""``/admin/teams``: pull an agent into an overloaded queue for a while (S11), see who is
pulled in where and until when (ended memberships stay listed as the history), end one early,
and the load of every queue.  The team service refuses non-administrators (403) first.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from core.db import utcnow
from core.errors import ValidationError
from desk.agent import service as agent_service
from desk.agent.models import Agent
from desk.queue import service as queue_service
from desk.queue.models import Queue
from desk.team import service as teams
from flows import teams as team_flows
from web.admin.forms import admin_actor
from web.admin.views import bp
from web.auth import login_required
from web.db import get_db
from web.tickets.support import MAX_ID, check_id

MAX_MINUTES = 7 * 24 * 60
M = TypeVar("M", Agent, Queue)


def _render(errors: dict[str, list[str]] | None = None, status: int = 200) -> ResponseReturnValue:
    session, actor = get_db(), admin_actor()
    agents = [a for a in agent_service.list_agents(session) if a.active and not a.read_only]
    page = render_template(
        "admin/teams.html",
        agents=agents,
        away=teams.away_ids(session, agent_ids=[a.id for a in agents]),
        queues=[q for q in queue_service.list_queues(session) if q.valid],
        memberships=teams.memberships(session, actor=actor),
        load=team_flows.load(session, actor=actor),
        now=utcnow(),
        errors=errors or {},
        form=request.form,
    )
    return page, status


@bp.get("/teams")
@login_required
def teams_page() -> ResponseReturnValue:
    """Temporary memberships and the load per queue."""
    return _render()


def _pick(model: type[M], name: str, errors: dict[str, list[str]]) -> M | None:
    raw = request.form.get(name, "")
    found = (
        get_db().get(model, int(raw))
        if raw.isascii() and raw.isdigit() and len(raw) <= 10 and 0 < int(raw) <= MAX_ID
        else None
    )
    if found is None:
        errors[name] = ["choose one of the list"]
    return found


def _number(name: str, errors: dict[str, list[str]], maximum: int) -> int | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or not 1 <= int(raw) <= maximum:
        errors[name] = [f"a whole number from 1 to {maximum}"]
        return None
    return int(raw)


@bp.post("/teams/pull-in")
@login_required
def pull_in() -> ResponseReturnValue:
    """Add an agent to a queue's group for some minutes, or until its load is gone."""
    session, actor = get_db(), admin_actor()
    errors: dict[str, list[str]] = {}
    agent = _pick(Agent, "agent", errors)
    queue = _pick(Queue, "queue", errors)
    minutes = _number("minutes", errors, MAX_MINUTES)
    open_below = _number("open_below", errors, 100_000)
    if not errors and minutes is None and open_below is None:
        errors["minutes"] = ["give the minutes, the open-ticket threshold, or both"]
    if errors or agent is None or queue is None:
        return _render(errors, 422)
    until = utcnow() + timedelta(minutes=minutes) if minutes is not None else None
    try:
        with session.begin_nested():
            team_flows.pull_in(
                session, actor=actor, agent=agent, queue=queue, until=until, open_below=open_below
            )
    except ValidationError as exc:
        return _render(exc.errors, 422)
    flash("admin_saved", "success")
    return redirect(url_for("admin.teams_page"), code=303)


@bp.post("/teams/<int:membership_id>/end")
@login_required
def end_membership(membership_id: int) -> ResponseReturnValue:
    """End a temporary membership now."""
    session, actor = get_db(), admin_actor()
    membership = teams.get_membership(session, membership_id=check_id(membership_id))
    team_flows.end(session, actor=actor, membership=membership)
    flash("admin_saved", "success")
    return redirect(url_for("admin.teams_page"), code=303)
