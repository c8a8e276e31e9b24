"""Adding and reading articles, and splitting an article off into a new ticket.

Who may write what:

* an agent's internal note needs the ``note`` right on the ticket's queue;
* anything a customer will see (a reply, a visible note, a phone note) needs ``rw`` and the
  *may contact customers* flag, and locks the ticket for the agent (OTRS auto-lock); it is
  refused while another agent holds the lock, so nobody answers twice at the same time;
* a customer writes only to their own tickets, and what they write is visible to them;
* the system (mail gateway, processes) may write anything.

There is deliberately no function that deletes or edits an article.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core.errors import PermissionDenied, ValidationError
from core.i18n import N_
from desk.actor import Actor, SystemActor
from desk.agent.models import Agent
from desk.article.models import CHANNELS, SENDER_TYPES, Article, Attachment
from desk.blob import service as blobs
from desk.customer.models import CustomerUser
from desk.history import service as history
from desk.permission import service as permissions
from desk.queue.models import Queue
from desk.rawmail.models import RawMail
from desk.ticket import firsts
from desk.ticket import service as tickets
from desk.ticket.models import State, Ticket, TicketLink


@dataclass(frozen=True)
class AttachmentDraft:
    """A file to attach, before it is stored."""

    filename: str
    content_type: str
    data: bytes
    is_inline: bool = False
    content_id: str | None = None


def add_article(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    channel: str,
    body_text: str,
    subject: str = "",
    sender_type: str | None = None,
    visible_for_customer: bool | None = None,
    body_html: str | None = None,
    from_addr: str = "",
    to_addr: str = "",
    cc_addr: str = "",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    raw_mail: RawMail | None = None,
    attachments: Iterable[AttachmentDraft] = (),
) -> Article:
    """Add an article to ``ticket`` (see the module docstring for who may write what).

    ``body_html`` must already be sanitized; the mail package does that for inbound mail.
    """
    # The rights first: who may not write here learns that, not what is wrong with the text.
    sender_type, visible = _authorise(
        session,
        actor=actor,
        ticket=ticket,
        channel=channel,
        sender_type=sender_type,
        visible=visible_for_customer,
    )
    if channel not in CHANNELS:
        raise ValidationError("invalid article", errors={"channel": [f"must be one of {CHANNELS}"]})
    tickets.require_not_merged(ticket)
    if sender_type not in SENDER_TYPES:
        raise ValidationError("invalid article", errors={"sender_type": [f"must be one of {SENDER_TYPES}"]})
    if not body_text.strip() and not body_html and channel != "email":
        raise ValidationError(N_("empty article"), errors={"body": [N_("write something")]})
    if visible and isinstance(actor, Agent):
        # OTRS auto-lock, once the article is known to be valid.
        tickets.auto_lock_for_answer(session, agent=actor, ticket=ticket)
    is_first = session.scalar(select(Article.id).where(Article.ticket_id == ticket.id).limit(1)) is None
    article = Article(
        ticket_id=ticket.id,
        channel=channel,
        sender_type=sender_type,
        is_visible_for_customer=visible,
        from_addr=from_addr,
        to_addr=to_addr,
        cc_addr=cc_addr,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        raw_mail_id=raw_mail.id if raw_mail else None,
        created_by_agent_id=actor.id if isinstance(actor, Agent) else None,
        created_by_customer_id=actor.id if isinstance(actor, CustomerUser) else None,
    )
    session.add(article)
    session.flush()
    firsts.note_article(
        session, ticket=ticket, sender_type=sender_type, visible_for_customer=visible, at=article.created_at
    )
    for draft in attachments:
        _attach(session, article, draft)
    session.expire(ticket, ["articles"])
    history.record(
        session,
        ticket=ticket,
        actor=actor,
        type=_history_type(sender_type, channel, visible, is_first),
        new=f"article {article.id}: {subject or channel}",
        comment="visible to the customer" if visible else "internal",
        article_id=article.id,
    )
    return article


def _authorise(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    channel: str,
    sender_type: str | None,
    visible: bool | None,
) -> tuple[str, bool]:
    """Check the actor may write this article; return the sender type and visibility.

    Only rights: nothing is changed here (the auto-lock follows the checks of the input).
    """
    if isinstance(actor, SystemActor):
        return sender_type or "system", bool(visible)
    if isinstance(actor, CustomerUser):
        permissions.require_ticket_read(session, actor, ticket)
        if channel not in ("email", "web"):
            raise PermissionDenied(N_("customers write by mail or in the portal"))
        return "customer", True
    # Agents record customer calls with the phone channel; otherwise they speak as themselves.
    if sender_type not in (None, "agent") and not (sender_type == "customer" and channel == "phone"):
        raise PermissionDenied(N_("agents write articles as themselves"))
    if visible is None:
        visible = channel != "note"
    if visible:
        permissions.require_queue(session, actor, ticket.queue, "rw")
        permissions.require_may_contact_customers(actor)
    else:
        permissions.require_queue(session, actor, ticket.queue, "note")
    return sender_type or "agent", visible


def _history_type(sender_type: str, channel: str, visible: bool, is_first: bool) -> str:
    if sender_type in ("customer", "external"):
        if channel == "phone":
            return "PhoneCallCustomer"
        if is_first:
            return "WebRequestCustomer" if channel == "web" else "EmailCustomer"
        return "FollowUp"
    if channel == "note":
        return "AddNote"
    if channel == "phone":
        return "PhoneCallAgent"
    if sender_type == "system":
        return "SendAnswer" if visible else "SystemRequest"
    return "SendAnswer" if visible else "EmailAgent"


def _attach(session: Session, article: Article, draft: AttachmentDraft) -> Attachment:
    sha = blobs.store(session, data=draft.data)
    attachment = Attachment(
        article_id=article.id,
        blob_sha256=sha,
        filename=draft.filename,
        content_type=draft.content_type or "application/octet-stream",
        size=len(draft.data),
        is_inline=draft.is_inline,
        content_id=draft.content_id,
    )
    session.add(attachment)
    session.flush()
    return attachment


def list_articles(session: Session, *, actor: Actor, ticket: Ticket) -> Sequence[Article]:
    """The articles of ``ticket`` that ``actor`` may see (customers: only visible ones)."""
    permissions.require_ticket_read(session, actor, ticket)
    query = select(Article).where(Article.ticket_id == ticket.id)
    if isinstance(actor, CustomerUser):
        query = query.where(Article.is_visible_for_customer.is_(True))
    # Every article's attachments in one more query, not one per article.
    return session.scalars(query.options(selectinload(Article.attachments)).order_by(Article.id)).all()


def split(
    session: Session,
    *,
    actor: Actor,
    article: Article,
    title: str | None = None,
    queue: Queue | None = None,
) -> Ticket:
    """Copy ``article`` into a new ticket, linked as a child of the original (OTRS split)."""
    origin = article.ticket
    permissions.require_queue(session, actor, origin.queue, "rw")
    tickets.require_not_merged(origin)
    target_queue = queue or origin.queue
    child = tickets.create_ticket(
        session,
        actor=actor,
        title=title or article.subject or origin.title,
        queue=target_queue,
        customer_user=origin.customer_user,
        customer_company=origin.customer_company,
        priority=origin.priority,
    )
    copy = Article(
        ticket_id=child.id,
        channel=article.channel,
        sender_type=article.sender_type,
        is_visible_for_customer=article.is_visible_for_customer,
        from_addr=article.from_addr,
        to_addr=article.to_addr,
        cc_addr=article.cc_addr,
        subject=article.subject,
        body_text=article.body_text,
        body_html=article.body_html,
        # The copy must not claim the original's Message-ID, or threading would be ambiguous.
        in_reply_to=article.in_reply_to,
        references=article.references,
        raw_mail_id=article.raw_mail_id,
        created_by_agent_id=article.created_by_agent_id,
        created_by_customer_id=article.created_by_customer_id,
    )
    session.add(copy)
    session.flush()
    firsts.note_article(
        session,
        ticket=child,
        sender_type=copy.sender_type,
        visible_for_customer=copy.is_visible_for_customer,
        at=copy.created_at,
    )
    for attachment in article.attachments:
        session.add(
            Attachment(
                article_id=copy.id,
                blob_sha256=attachment.blob_sha256,
                filename=attachment.filename,
                content_type=attachment.content_type,
                size=attachment.size,
                is_inline=attachment.is_inline,
                content_id=attachment.content_id,
            )
        )
    session.add(
        TicketLink(
            source=origin,
            target=child,
            kind="parent_child",
            created_by_id=actor.id if isinstance(actor, Agent) else None,
        )
    )
    session.flush()
    history.record(
        session,
        ticket=origin,
        actor=actor,
        type="Split",
        old=f"article {article.id}",
        new=child.number,
        article_id=article.id,
    )
    history.record(
        session,
        ticket=child,
        actor=actor,
        type="Split",
        old=f"{origin.number} article {article.id}",
        new=child.number,
        article_id=copy.id,
    )
    return child


def awaiting_answer(session: Session, *, ticket_ids: Iterable[int]) -> set[int]:
    """The tickets among ``ticket_ids`` whose customer wrote last and waits for an answer.

    The newest article the customer can see decides: when it is the customer's own and the
    ticket is not closed, an agent owes them an answer.  One query for a whole list.
    """
    ids = list(ticket_ids)
    if not ids:
        return set()
    newest = (
        select(Article.ticket_id, func.max(Article.id).label("article_id"))
        .where(Article.ticket_id.in_(ids), Article.is_visible_for_customer.is_(True))
        .group_by(Article.ticket_id)
        .subquery()
    )
    rows = session.execute(
        select(Ticket.id)
        .join(newest, newest.c.ticket_id == Ticket.id)
        .join(Article, Article.id == newest.c.article_id)
        .join(State, State.id == Ticket.state_id)
        .where(Article.sender_type == "customer", State.type.not_in(("closed", "merged")))
    )
    return set(rows.scalars())
