"""An agent's reply to the customer: a visible e-mail article plus the mail in the outbox.

The article is written by :func:`desk.article.service.add_article`, which checks ``rw`` and
*may contact customers* and locks the ticket for the agent (OTRS auto-lock; refused while
another agent holds the lock).  The mail goes into the outbox in the same transaction, so it
is sent only if the reply is committed; delivering it is the mail package's work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import get_settings
from core.errors import ValidationError
from desk.actor import Actor
from desk.article import service as articles
from desk.article.models import Article
from desk.outbox import service as outbox
from desk.permission import service as permissions
from desk.ticket.models import Ticket


def reply_subject(ticket: Ticket, subject: str = "") -> str:
    """``[Ticket#<number>] <subject or title>``: the hook lets the answer thread back."""
    tag = f"[{get_settings().ticket_hook}{ticket.number}]"
    subject = " ".join(subject.split()) or ticket.title
    return subject if tag in subject else f"{tag} {subject}"


def last_customer_article(session: Session, *, ticket: Ticket) -> Article | None:
    """The newest article the customer wrote (what a reply answers)."""
    return session.scalar(
        select(Article)
        .where(Article.ticket_id == ticket.id, Article.sender_type == "customer")
        .order_by(Article.id.desc())
        .limit(1)
    )


def send_reply(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    body_text: str,
    subject: str = "",
    attachments: Iterable[articles.AttachmentDraft] = (),
) -> Article:
    """Answer the ticket's customer by e-mail; returns the new (visible) article."""
    # The rights first: an agent who may not answer learns that, not that the text was empty.
    permissions.require_queue(session, actor, ticket.queue, "rw")
    permissions.require_may_contact_customers(actor)
    customer = ticket.customer_user
    if customer is None or not customer.email:
        raise ValidationError(
            "no recipient", errors={"to": ["the ticket has no customer with an e-mail address"]}
        )
    if not body_text.strip():
        raise ValidationError("empty reply", errors={"body": ["write something"]})
    sender = ticket.queue.system_address or outbox.DEFAULT_SENDER
    full_subject = reply_subject(ticket, subject)
    answered = last_customer_article(session, ticket=ticket)
    in_reply_to = answered.message_id if answered else None
    references = _references(answered)
    article = articles.add_article(
        session,
        actor=actor,
        ticket=ticket,
        channel="email",
        sender_type="agent",
        visible_for_customer=True,
        subject=full_subject,
        body_text=body_text,
        from_addr=sender,
        to_addr=customer.email,
        in_reply_to=in_reply_to,
        references=references,
        attachments=list(attachments),
    )
    message = outbox.queue_mail(
        session,
        ticket=ticket,
        article=article,
        from_addr=sender,
        to_addr=customer.email,
        subject=full_subject,
        body_text=body_text,
        in_reply_to=in_reply_to,
        references=references,
    )
    # Replies to this mail then thread back to the ticket by In-Reply-To.
    article.message_id = message.message_id
    session.flush()
    return article


def _references(answered: Article | None) -> str | None:
    if answered is None or not answered.message_id:
        return None
    chain: Sequence[str] = (answered.references or "").split()
    return " ".join([*chain, answered.message_id])
