"""The inbox: open human tasks an agent may work on, read from the HumanTask projection.

No workflow is deserialized here.  An agent sees a task when it is named for them, or for
one of their roles, or for a queue (or the ticket's current queue) on which they hold
``rw`` — and only when they may read the task's ticket (``ro`` on its current queue), and
unless the four-eyes rule excludes them.  Observers and inactive agents see none.  This is
:func:`engine.runtime.is_candidate` as a SQL condition.

The conditions and the order read only ``human_task``: the task carries copies of its
ticket's queue and escalation time (:mod:`engine.task_projection`), so a page is read off
the partial index ``ix_human_task_inbox`` in order and the ticket is joined only for the
rows of the page.  The counts per queue read the open tasks through ``ix_human_task_state``
and need no join (a count has to visit every row it counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session, contains_eager

from desk.agent.models import Agent
from desk.permission import service as permissions
from desk.ticket.models import Ticket
from engine.models import HumanTask

Scope = Literal["all", "mine", "unclaimed"]


def candidate_condition(session: Session, agent: Agent) -> ColumnElement[bool]:
    """SQL condition: open tasks ``agent`` may work on (on ``human_task`` alone)."""
    if agent.read_only or not agent.active:
        return false()
    rw_queues = permissions.queue_ids_with(session, agent, "rw")
    readable = permissions.queue_ids_with(session, agent, "ro")
    if not readable:
        return false()
    role_ids = [role.id for role in agent.roles if role.valid]
    unnamed = HumanTask.candidate_agent_id.is_(None)
    by_queue = and_(
        unnamed,
        HumanTask.candidate_role_id.is_(None),
        or_(
            and_(HumanTask.follows_ticket_queue.is_(True), HumanTask.ticket_queue_id.in_(rw_queues)),
            HumanTask.candidate_queue_id.in_(rw_queues),
        ),
    )
    return and_(
        HumanTask.state == "open",
        # A task never shows its ticket's number and title to someone who may not read it.
        HumanTask.ticket_queue_id.in_(readable),
        or_(HumanTask.excluded_agent_id.is_(None), HumanTask.excluded_agent_id != agent.id),
        or_(
            HumanTask.candidate_agent_id == agent.id,
            and_(unnamed, HumanTask.candidate_role_id.in_(role_ids)),
            by_queue,
        ),
    )


def tasks_for(
    session: Session,
    *,
    agent: Agent,
    scope: Scope = "all",
    queue_ids: Sequence[int] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Sequence[HumanTask]:
    """The agent's tasks: escalating tickets first, then the oldest task first."""
    query = task_page_query(
        session, agent=agent, scope=scope, queue_ids=queue_ids, limit=limit, offset=offset
    )
    return session.scalars(query).unique().all()


def task_page_query(
    session: Session,
    *,
    agent: Agent,
    scope: Scope,
    queue_ids: Sequence[int] | None,
    limit: int,
    offset: int,
) -> Select[HumanTask]:
    """The statement behind :func:`tasks_for` (its plan is tested)."""
    query = (
        select(HumanTask)
        .join(Ticket, Ticket.id == HumanTask.ticket_id)
        .options(contains_eager(HumanTask.ticket))
        .where(candidate_condition(session, agent))
    )
    if scope == "mine":
        query = query.where(HumanTask.claimed_by_id == agent.id)
    elif scope == "unclaimed":
        query = query.where(HumanTask.claimed_by_id.is_(None))
    if queue_ids is not None:
        query = query.where(HumanTask.ticket_queue_id.in_(queue_ids))
    # The index's order (ASC is NULLS LAST in PostgreSQL's btrees; SQLite sorts NULL first,
    # so it is said explicitly).
    query = query.order_by(HumanTask.escalation_due.asc().nulls_last(), HumanTask.created_at, HumanTask.id)
    return query.limit(min(max(limit, 1), 500)).offset(max(offset, 0))


def counts_by_queue(session: Session, *, agent: Agent) -> dict[int, int]:
    """Queue id → number of open tasks of the agent's in tickets of that queue."""
    rows = session.execute(counts_query(session, agent=agent)).all()
    return {queue_id: count for queue_id, count in rows if queue_id is not None}


def counts_query(session: Session, *, agent: Agent) -> Select[int | None, int]:
    """The statement behind :func:`counts_by_queue` (its plan is tested)."""
    return (
        select(HumanTask.ticket_queue_id, func.count())
        .where(candidate_condition(session, agent))
        .group_by(HumanTask.ticket_queue_id)
    )


def open_tasks_of_ticket(session: Session, *, ticket: Ticket) -> Sequence[HumanTask]:
    """The open tasks of one ticket (for the ticket view), oldest first."""
    return session.scalars(
        select(HumanTask)
        .where(HumanTask.ticket_id == ticket.id, HumanTask.state == "open")
        .order_by(HumanTask.id)
    ).all()
