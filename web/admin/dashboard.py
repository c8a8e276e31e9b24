"""The admin dashboard at /admin: the figures an administrator watches, each with its page."""

from __future__ import annotations

from datetime import date

from flask import current_app, render_template, request
from flask.typing import ResponseReturnValue

from desk import overview
from desk.audit import service as audit
from engine import definitions
from mail import failures
from web.admin.forms import admin_actor, page_number
from web.admin.views import bp
from web.auth import login_required
from web.db import get_db


def _link(*endpoints: str) -> str | None:
    """The first of ``endpoints`` this app serves (other areas' pages may not exist yet)."""
    return next((e for e in endpoints if e in current_app.view_functions), None)


@bp.get("/")
@login_required
def dashboard() -> ResponseReturnValue:
    """Counts of agents, queues, open tickets, failed mails, outbox failures, processes."""
    session = get_db()
    actor = admin_actor()
    desk_counts = overview.counts(session, actor=actor)
    cards = [
        ("agents", desk_counts.agents, _link("admin.agents")),
        ("queues", desk_counts.queues, _link("admin.queues", "admin.queue_list", "admin.queue_tree")),
        ("open_tickets", desk_counts.open_tickets, _link("search.index")),
        ("failed_mails", failures.count_failed(session, actor=actor), _link("admin.failed_mail")),
        ("outbox_failures", desk_counts.outbox_failures, _link("admin.outbox", "admin.outbox_failures")),
        ("processes", definitions.version_count(session), _link("admin.processes")),
    ]
    return render_template("admin/dashboard.html", cards=cards)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("/audit", endpoint="audit")
@login_required
def audit_log() -> ResponseReturnValue:
    """Every recorded administrative change, filtered by object type, actor and days."""
    session = get_db()
    actor = admin_actor()
    args = request.args
    filters = {key: args.get(key, "") for key in ("type", "actor", "from", "to") if args.get(key)}
    errors: dict[str, list[str]] = {}
    for key in ("from", "to"):
        if filters.get(key) and _day(filters[key]) is None:
            errors[key] = ["a day as YYYY-MM-DD"]
    found = audit.search(
        session,
        actor=actor,
        object_type=filters.get("type", ""),
        actor_name=filters.get("actor", ""),
        day_from=_day(filters.get("from")),
        day_to=_day(filters.get("to")),
        page=page_number(),
    )
    page = render_template(
        "admin/audit.html",
        found=found,
        filters=filters,
        errors=errors,
        object_types=audit.object_types(session, actor=actor),
    )
    return page, 422 if errors else 200
