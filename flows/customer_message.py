"""A customer writes to their ticket: by mail, through the API, later in the portal.

The same rules whatever the channel: a message to a closed ticket follows the queue's
follow-up policy (reopen it, open a new linked ticket, or reject the message), the article is
visible to the customer, and the ticket's waiting process hears ``customer_replied`` (a
reopened ticket whose process had ended gets a new one).  Mail from someone else on the
ticket (an external specialist, an unrelated sender) is :func:`third_party_message`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.errors import Conflict
from core.i18n import N_
from desk.actor import SYSTEM, Actor
from desk.article.models import Article
from desk.customer.models import CustomerUser
from desk.history import service as history
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from engine import runtime
from flows import automatic_answer, notifications
from flows.automatic_answer import AnswerTo
from flows.drafts import ArticleDraft
from flows.open_ticket import open_ticket, start_default_process

CUSTOMER_REPLIED = "customer_replied"
SPECIALIST_REPLIED = "specialist_replied"


@dataclass(frozen=True)
class Delivered:
    """Where the message went: ``follow_up``, ``new_ticket`` (policy) or ``rejected``."""

    ticket: Ticket
    article: Article
    kind: str


def customer_message(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    draft: ArticleDraft,
    rejectable: bool = True,
    sender: CustomerUser | None = None,
    answer_to: AnswerTo | None = None,
) -> Delivered:
    """Add the customer's message to ``ticket`` and wake its process.

    ``actor`` is the customer user (API, portal) or the system (the mail gateway, which has
    already decided that the sender is the ticket's customer).  With ``rejectable`` false a
    reject policy is an error for the caller to show (a form or API client can keep its
    text); mail cannot be handed back, so it is kept as an internal article instead.
    ``sender`` is the customer user who wrote (a colleague of the ticket's customer may);
    a new ticket made by the follow-up policy is theirs.  The queue's automatic answer of the
    outcome's kind (*follow-up*, *reject*, *new ticket*) goes to them; ``answer_to`` says where
    and how a mail's answer threads, and why it must not be sent.
    """
    draft = draft.but(sender_type="customer", visible_for_customer=True)
    if ticket.state.type == "closed":
        policy = ticket.queue.follow_up_policy
        if policy == "new_ticket":
            owner = sender or (actor if isinstance(actor, CustomerUser) else ticket.customer_user)
            return _new_linked_ticket(
                session, actor=actor, closed=ticket, draft=draft, customer=owner, answer_to=answer_to
            )
        if policy == "reject":
            if not rejectable:
                raise Conflict(
                    N_("ticket %(number)s is closed and takes no more messages; please open a new ticket"),
                    number=ticket.number,
                )
            article = draft.but(visible_for_customer=False).write(session, actor=SYSTEM, ticket=ticket)
            mark_article(
                session, ticket, article, "follow-up to a closed ticket rejected by the queue's policy"
            )
            automatic_answer.answer(session, ticket=ticket, kind="reject", to=answer_to)
            return Delivered(ticket, article, "rejected")
        tickets.reopen(session, actor=actor, ticket=ticket)
    article = draft.write(session, actor=actor, ticket=ticket)
    writer = sender or (actor if isinstance(actor, CustomerUser) else ticket.customer_user)
    notifications.customer_answered(
        session, ticket=ticket, customer_name=writer.full_name if writer else article.from_addr
    )
    message = runtime.deliver_message(
        session, ticket=ticket, name=CUSTOMER_REPLIED, payload={"article_id": article.id}
    )
    running = [i for i in runtime.instances_of(session, ticket=ticket) if i.status == "running"]
    if message.status == "unmatched" and not running and ticket.state.type != "closed":
        start_default_process(session, ticket=ticket, first_article=article)
    automatic_answer.answer(session, ticket=ticket, kind="follow_up", to=answer_to)
    return Delivered(ticket, article, "follow_up")


def third_party_message(
    session: Session, *, ticket: Ticket, draft: ArticleDraft, request_token: str | None, note: str = ""
) -> Article:
    """Mail on ``ticket`` from someone who is not its customer: always internal.

    With the ``[Req#token]`` of a specialist request it is that specialist's answer and goes
    to the process waiting for it; anyone else's mail neither reopens nor wakes anything.
    """
    article = draft.but(visible_for_customer=False).write(session, actor=SYSTEM, ticket=ticket)
    if note:
        mark_article(session, ticket, article, note)
    if request_token is not None:
        runtime.deliver_message(
            session,
            ticket=ticket,
            name=SPECIALIST_REPLIED,
            payload={"article_id": article.id},
            correlation={"specialist_token": request_token},
        )
    return article


def _new_linked_ticket(
    session: Session,
    *,
    actor: Actor,
    closed: Ticket,
    draft: ArticleDraft,
    customer: CustomerUser | None,
    answer_to: AnswerTo | None,
) -> Delivered:
    opened = open_ticket(
        session,
        actor=actor,
        queue=closed.queue,
        title=draft.subject or closed.title,
        first=draft,
        customer_user=customer,
        answer_to=answer_to,
    )
    tickets.link(session, actor=SYSTEM, source=closed, target=opened.ticket)
    return Delivered(opened.ticket, opened.article, "new_ticket")


def mark_article(session: Session, ticket: Ticket, article: Article, comment: str) -> None:
    """Say in the ticket's history why an article is as it is (e.g. an unrelated sender)."""
    history.record(
        session,
        ticket=ticket,
        actor=SYSTEM,
        type="ProcessMessage",
        new=f"article {article.id}",
        comment=comment,
        article_id=article.id,
    )
