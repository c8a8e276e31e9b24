"""Marking tickets as seen and asking which tickets of a list are unread.

Both are one statement each, so the ticket page and the lists stay at a fixed statement
count: :func:`mark_seen` is an ``INSERT … ON CONFLICT DO UPDATE`` whose newest article id is a
subquery, and :func:`unread_ticket_ids` answers for a whole page at once.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Table, and_, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.db import utcnow
from desk.agent.models import Agent
from desk.article.models import Article
from desk.reading.models import AgentTicketSeen
from desk.ticket.models import Ticket


def mark_seen(session: Session, *, agent: Agent, ticket: Ticket) -> None:
    """Remember that ``agent`` has read ``ticket`` up to its newest article (one statement)."""
    table = AgentTicketSeen.__table__
    assert isinstance(table, Table)  # noqa: S101 (narrows the type for mypy)
    newest = (
        select(func.coalesce(func.max(Article.id), 0)).where(Article.ticket_id == ticket.id).scalar_subquery()
    )
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values(
        agent_id=agent.id, ticket_id=ticket.id, seen_at=utcnow(), last_article_id=newest
    )
    statement = statement.on_conflict_do_update(
        index_elements=["agent_id", "ticket_id"],
        set_={"seen_at": statement.excluded.seen_at, "last_article_id": statement.excluded.last_article_id},
    )
    session.execute(statement)


def unread_ticket_ids(session: Session, *, agent: Agent, ticket_ids: Collection[int]) -> set[int]:
    """The tickets among ``ticket_ids`` with an article by someone else that ``agent`` has not seen."""
    if not ticket_ids:
        return set()
    seen = AgentTicketSeen
    query = (
        select(Article.ticket_id)
        .outerjoin(seen, and_(seen.ticket_id == Article.ticket_id, seen.agent_id == agent.id))
        .where(
            Article.ticket_id.in_(list(ticket_ids)),
            Article.id > func.coalesce(seen.last_article_id, 0),
            # The agent's own articles are read by writing them.
            func.coalesce(Article.created_by_agent_id, 0) != agent.id,
        )
        .distinct()
    )
    return set(session.scalars(query))
