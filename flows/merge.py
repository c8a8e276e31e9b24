"""Merge, link and split tickets (web form, API).

A merged ticket takes no more changes, so its running processes are told it is closed
(``ticket_closed``): they end and their tasks leave the inbox.  A split opens a new ticket,
which gets its own default process like any other new ticket.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from desk.actor import Actor
from desk.article import service as articles
from desk.article.models import Article
from desk.queue.models import Queue
from desk.ticket import service as tickets
from desk.ticket.models import Ticket, TicketLink
from flows import process_events
from flows.open_ticket import start_default_process


def merge(session: Session, *, actor: Actor, ticket: Ticket, into: Ticket) -> None:
    """Merge ``ticket`` into ``into``; the articles move there and its processes end."""
    tickets.merge(session, actor=actor, ticket=ticket, into=into)
    process_events.ticket_closed(session, actor=actor, ticket=ticket, reason=f"merged into {into.number}")


def link(
    session: Session, *, actor: Actor, source: Ticket, target: Ticket, kind: str = "normal"
) -> TicketLink:
    """Link two tickets (``parent_child``: ``source`` is the parent)."""
    return tickets.link(session, actor=actor, source=source, target=target, kind=kind)


def split(
    session: Session, *, actor: Actor, article: Article, title: str | None = None, queue: Queue | None = None
) -> Ticket:
    """Copy ``article`` into a new child ticket and start its process."""
    child = articles.split(session, actor=actor, article=article, title=title, queue=queue)
    start_default_process(session, ticket=child)
    return child
