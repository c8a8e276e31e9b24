"""The search page: reads the query string, asks ``desk.ticket.search`` and lists the tickets."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from core.errors import ValidationError
from desk.article import service as article_service
from desk.permission import service as permissions
from desk.queue import service as queue_service
from desk.ticket import search as search_service
from desk.ticket.models import STATE_TYPES
from web.auth import login_required
from web.auth.users import current_agent
from web.db import get_db
from web.inbox import lists

bp = Blueprint("search", __name__)

PAGE_SIZE = 50
MAX_PAGE = 10_000


def _date(name: str, errors: dict[str, list[str]]) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = ["enter a date (YYYY-MM-DD)"]
        return None


@bp.get("/search")
@login_required
def index() -> ResponseReturnValue:
    """Search form and results (GET, so a search can be bookmarked and shared)."""
    session = get_db()
    agent = current_agent()
    errors: dict[str, list[str]] = {}
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    readable = permissions.queue_ids_with(session, agent, "ro")
    queues = [q for q in queue_service.list_queues(session) if q.id in readable]
    queue_id = request.args.get("queue", type=int)
    if queue_id is not None and queue_id not in readable:
        queue_id = None
    state_type = request.args.get("state_type", "")
    if state_type not in STATE_TYPES:
        state_type = ""
    created_from = _date("created_from", errors)
    created_to = _date("created_to", errors)
    criteria = search_service.SearchCriteria(
        number=request.args.get("number", "")[:40],
        words=request.args.get("words", "")[: search_service.MAX_WORDS_LENGTH],
        customer_email=request.args.get("customer", "")[:320],
        queue_ids=(queue_id,) if queue_id is not None else (),
        state_types=(state_type,) if state_type else (),
        created_from=datetime.combine(created_from, time(), UTC) if created_from else None,
        # The end date is inclusive: everything before the next midnight.
        created_before=datetime.combine(created_to + timedelta(days=1), time(), UTC) if created_to else None,
    )
    results = []
    has_next = False
    searched = not criteria.is_empty or bool(errors)
    if searched and not errors:
        try:
            rows = search_service.search_tickets(
                session, actor=agent, criteria=criteria, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
            )
            results, has_next = list(rows[:PAGE_SIZE]), len(rows) > PAGE_SIZE
        except ValidationError as exc:
            errors.update(exc.errors)
    return render_template(
        "search/index.html",
        **lists.list_context(session, agent=agent, ticket_ids=[t.id for t in results], kind="search"),
        bulk_next=request.full_path,
        args=request.args,
        queues=queues,
        queue_id=queue_id,
        state_types=STATE_TYPES,
        state_type=state_type,
        results=results,
        waiting=article_service.awaiting_answer(session, ticket_ids=[t.id for t in results]),
        searched=searched,
        errors=errors,
        page=page,
        has_next=has_next,
    )
