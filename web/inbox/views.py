"""Inbox views: thin; ``engine.inbox`` decides which tasks an agent sees and in which order.

Claiming and releasing are :mod:`flows.tasks`' use cases, as in the API.  A task whose ticket
the agent may not read is the 404 page and one they are no candidate for the 403 page (both
tell nothing about the task); a lost race is a message naming who won.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar, cast

from flask import Blueprint, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue

from core.errors import NotFound
from desk.agent import service as agent_service
from desk.article import service as article_service
from desk.permission import service as permissions
from desk.queue import service as queue_service
from desk.queue.models import QUEUE_SEPARATOR
from engine import inbox
from flows import tasks as task_flows
from web.auth import login_required
from web.auth.users import current_agent
from web.db import get_db
from web.inbox import lists
from web.tickets.support import _, attempt, back_to, check_id, flash_done, local_target

bp = Blueprint("inbox", __name__)
T = TypeVar("T")

PAGE_SIZE = 25
MAX_PAGE = 100_000
SCOPES: tuple[inbox.Scope, ...] = ("mine", "unclaimed", "all")
# Seconds between the automatic reloads of the task table.
REFRESH_SECONDS = 30


@dataclass(frozen=True)
class QueueNode:
    """One line of the queue tree: a queue the agent may read, with its task count."""

    id: int
    name: str
    short_name: str
    depth: int
    count: int


@bp.get("/inbox")
@login_required
def index() -> ResponseReturnValue:
    """Tasks of the signed-in agent: ``?scope=mine|unclaimed|all``, ``?queue=<id>``, ``?page=``."""
    agent = current_agent()
    session = get_db()
    scope = request.args.get("scope", "all")
    if scope not in SCOPES:
        scope = "all"
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    queue_id = request.args.get("queue", type=int)
    counts = inbox.counts_by_queue(session, agent=agent)
    readable = permissions.queue_ids_with(session, agent, "ro") | set(counts)
    tree = [
        QueueNode(
            id=q.id,
            name=q.name,
            short_name=q.short_name,
            depth=q.name.count(QUEUE_SEPARATOR),
            count=counts.get(q.id, 0),
        )
        for q in queue_service.list_queues(session)
        if q.id in readable
    ]
    if queue_id is not None and queue_id not in readable:
        queue_id = None
    rows = inbox.tasks_for(
        session,
        agent=agent,
        scope=cast(inbox.Scope, scope),
        queue_ids=[queue_id] if queue_id is not None else None,
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    shown = rows[:PAGE_SIZE]
    self_url = url_for("inbox.index", scope=scope, queue=queue_id, page=page)
    # Once for the claimers' names and the bulk form's owners (the page needs no roles).
    everyone = agent_service.list_agents(session, with_roles=False)
    context = {
        **lists.list_context(
            session, agent=agent, ticket_ids={t.ticket_id for t in shown}, kind="inbox", agents=everyone
        ),
        "bulk_next": self_url,
        "tasks": shown,
        "waiting": article_service.awaiting_answer(session, ticket_ids={t.ticket_id for t in shown}),
        "page": page,
        "has_next": len(rows) > PAGE_SIZE,
        "scope": scope,
        "queue_id": queue_id,
        "tree": tree,
        "total": sum(counts.values()),
        "agents": {a.id: a for a in everyone},
        "refresh_seconds": REFRESH_SECONDS,
        "self_url": self_url,
    }
    if request.headers.get("HX-Request") and request.args.get("partial") == "table":
        return render_template("inbox/_table.html", **context)
    return render_template("inbox/index.html", **context)


@bp.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id: int) -> ResponseReturnValue:
    """Take a task (the runtime also locks the ticket when nobody holds its lock)."""
    agent = current_agent()
    ok, _task = attempt(_or_404(lambda: task_flows.claim(get_db(), actor=agent, task_id=check_id(task_id))))
    if ok:
        flash_done(_("You claimed the task."))
    return back_to(local_target(url_for("inbox.index")))


@bp.post("/tasks/<int:task_id>/release")
@login_required
def release(task_id: int) -> ResponseReturnValue:
    """Give a claimed task back to its candidates."""
    agent = current_agent()
    ok, _task = attempt(_or_404(lambda: task_flows.release(get_db(), actor=agent, task_id=check_id(task_id))))
    if ok:
        flash_done(_("You released the task."))
    return back_to(local_target(url_for("inbox.index")))


def _or_404(action: Callable[[], T]) -> Callable[[], T]:
    """``action`` with *not found* as the 404 page instead of a flash message.

    A flash would still be a page of ours answering for a task the agent may not know of;
    the 404 looks exactly like a task id that does not exist.
    """

    def run() -> T:
        try:
            return action()
        except NotFound:
            abort(404)

    return run
