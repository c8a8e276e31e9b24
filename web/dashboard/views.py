"""Dashboard views: thin, the ticket service decides what the agent may see."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from desk.article import service as article_service
from desk.permission import service as permissions
from desk.ticket import service as ticket_service
from mail import failures
from web.auth import login_required
from web.auth.users import current_agent
from web.db import get_db

bp = Blueprint("dashboard", __name__)

PAGE_SIZE = 25
# Far beyond any real list; it keeps the offset a number the database accepts.
MAX_PAGE = 100_000


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """The tickets of the agent's queues, newest first, one page at a time (``?page=``)."""
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    # One more than a page tells whether there is a next page without counting.
    rows = ticket_service.list_tickets(
        get_db(), actor=current_agent(), limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    shown = rows[:PAGE_SIZE]
    session, agent = get_db(), current_agent()
    # Only administrators can act on failed mail, so only they are told about it.
    failed_mail = failures.count_failed(session, actor=agent) if permissions.is_admin(session, agent) else 0
    return render_template(
        "dashboard/index.html",
        tickets=shown,
        waiting=article_service.awaiting_answer(get_db(), ticket_ids=[t.id for t in shown]),
        page=page,
        has_next=len(rows) > PAGE_SIZE,
        failed_mail=failed_mail,
    )
