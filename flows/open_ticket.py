"""Open a ticket: by mail, by phone, in the web UI or through the API.

Every channel opens a ticket the same way: the ticket (``create`` on the queue, checked by the
ticket service), its first article, and the default process started when it is deployed, all
in the caller's transaction.  What differs per channel is only who the actor is and what the
first article looks like (an :class:`~flows.drafts.ArticleDraft`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from desk.actor import SYSTEM, Actor
from desk.article.models import Article
from desk.customer.models import CustomerUser
from desk.queue.models import Queue
from desk.ticket import service as tickets
from desk.ticket.models import State, Ticket
from engine import definitions, runtime
from engine.models import ProcessInstance
from flows import automatic_answer
from flows.automatic_answer import AnswerTo
from flows.drafts import ArticleDraft


@dataclass(frozen=True)
class Opened:
    """The new ticket, its first article and its process (None when none is deployed)."""

    ticket: Ticket
    article: Article
    instance: ProcessInstance | None


def open_ticket(
    session: Session,
    *,
    actor: Actor,
    queue: Queue,
    title: str,
    first: ArticleDraft,
    customer_user: CustomerUser | None = None,
    state: State | None = None,
    priority: int = 3,
    pending_until: datetime | None = None,
    article_actor: Actor | None = None,
    answer_to: AnswerTo | None = None,
) -> Opened:
    """Open a ticket with its first article, start the default process, acknowledge it.

    ``article_actor`` writes the first article when it is not the one who opens the ticket.
    The queue's *new ticket* automatic answer goes to the customer (``answer_to`` says where
    and how a mail's answer threads, and why it must not be sent).
    """
    ticket = tickets.create_ticket(
        session,
        actor=actor,
        title=title,
        queue=queue,
        customer_user=customer_user,
        state=state,
        priority=priority,
        pending_until=pending_until,
    )
    article = first.write(session, actor=article_actor or actor, ticket=ticket)
    instance = start_default_process(session, ticket=ticket, first_article=article)
    automatic_answer.answer(session, ticket=ticket, kind="new_ticket", to=answer_to)
    return Opened(ticket, article, instance)


def start_default_process(
    session: Session, *, ticket: Ticket, first_article: Article | None = None
) -> ProcessInstance | None:
    """Start the queue's process for ``ticket`` as the system, when it is deployed.

    The queue names its process (``Queue.process_id``, newest version); a queue that names
    none, or one whose process is not deployed (any more), starts ``ticket_handling``.
    """
    process_id = ticket.queue.process_id
    if not process_id or definitions.latest_version(session, process_id) is None:
        process_id = runtime.DEFAULT_PROCESS
    if definitions.latest_version(session, process_id) is None:
        return None
    data = {"first_article_id": first_article.id} if first_article is not None else {}
    return start_process(session, actor=SYSTEM, ticket=ticket, process_id=process_id, data=data)


def start_process(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    process_id: str = runtime.DEFAULT_PROCESS,
    data: Mapping[str, Any] | None = None,
) -> ProcessInstance:
    """Start the newest version of ``process_id`` for an existing ticket (CLI, API, the UI)."""
    return runtime.start(session, actor=actor, ticket=ticket, process_id=process_id, data=data)
