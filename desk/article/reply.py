"""Outgoing mail of a ticket: replies, forwards and every other e-mail article with its outbox mail.

The article is written by :func:`desk.article.service.add_article`, which checks ``rw`` and
*may contact customers* and locks the ticket for the agent (OTRS auto-lock; refused while
another agent holds the lock).  The mail goes into the outbox in the same transaction, so it
is sent only if the reply is committed; delivering it is the mail package's work, which
composes the mail from the article (text, HTML, attachments, inline images).

:func:`mail_article` is the one door for every mail of a ticket, so the customer-contact
rule is enforced there, before anything is written: mail to a customer address (see
:mod:`desk.article.recipients`) needs an actor who may contact customers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import get_settings
from core.errors import ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.article import recipients
from desk.article import service as articles
from desk.article.models import Article
from desk.blob import service as blobs
from desk.outbox import service as outbox
from desk.permission import service as permissions
from desk.queue import identity
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
    body_html: str | None = None,
) -> Article:
    """Answer the ticket's customer by e-mail; returns the new (visible) article.

    ``body_html`` (already sanitized) is sent as an HTML alternative; inline attachments
    with a Content-ID are the images its ``cid:`` references show.
    """
    # The rights first: an agent who may not answer learns that, not that the text was empty.
    permissions.require_queue(session, actor, ticket.queue, "rw")
    permissions.require_may_contact_customers(actor)
    customer = ticket.customer_user
    if customer is None or not customer.email:
        raise ValidationError(
            N_("no recipient"), errors={"to": [N_("the ticket has no customer with an e-mail address")]}
        )
    if not body_text.strip():
        raise ValidationError(N_("empty reply"), errors={"body": [N_("write something")]})
    full_subject = reply_subject(ticket, subject)
    answered = last_customer_article(session, ticket=ticket)
    return mail_article(
        session,
        actor=actor,
        ticket=ticket,
        to_addr=customer.email,
        subject=full_subject,
        body_text=body_text,
        visible_for_customer=True,
        sender_type="agent",
        in_reply_to=answered.message_id if answered else None,
        references=_references(answered),
        attachments=attachments,
        body_html=body_html,
    )


def mail_article(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    to_addr: str,
    subject: str,
    body_text: str,
    visible_for_customer: bool,
    sender_type: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    auto_submitted: str | None = None,
    attachments: Iterable[articles.AttachmentDraft] = (),
    cc_addr: str = "",
    body_html: str | None = None,
) -> Article:
    """An e-mail article of ``ticket`` and its mail in the outbox, in one step.

    Every outgoing mail of a ticket (replies, forwards, automatic answers, process mail) goes
    through here: the article is checked and written by ``add_article``, the mail is sent from
    the queue's address and display name (:mod:`desk.queue.identity`), and the article takes
    the mail's Message-ID so answers thread back.
    The outbox row names the article, from which the mail is composed when it is sent.

    Mail to a customer (To or Cc, see :mod:`desk.article.recipients`) is refused with
    :class:`PermissionDenied` for an actor who may not contact customers, before anything is
    written.  ``body_html`` must already be sanitized.
    """
    recipients.require_may_mail(session, actor=actor, ticket=ticket, to_addr=to_addr, cc_addr=cc_addr)
    # The queue's display name and address (or a parent's, or the default sender).
    sender = identity.from_header(session, ticket.queue)
    article = articles.add_article(
        session,
        actor=actor,
        ticket=ticket,
        channel="email",
        sender_type=sender_type,
        visible_for_customer=visible_for_customer,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        from_addr=sender,
        to_addr=to_addr,
        cc_addr=cc_addr,
        in_reply_to=in_reply_to,
        references=references,
        attachments=list(attachments),
    )
    message = outbox.queue_mail(
        session,
        ticket=ticket,
        article=article,
        from_addr=sender,
        to_addr=to_addr,
        cc_addr=cc_addr,
        auto_submitted=auto_submitted,
    )
    article.message_id = message.message_id
    session.flush()
    return article


def forward_article(
    session: Session, *, actor: Actor, ticket: Ticket, original: Article, to_addr: str, comment: str = ""
) -> Article:
    """Forward ``original`` with its attachments to a third party as an internal e-mail article.

    Needs ``rw``; *may contact customers* applies only when the address is a customer's
    (checked by :func:`mail_article`): a third party is not the customer, and the forward
    stays invisible to the customer.  The original's files (inline images too) go along as
    attachments, since the forwarded text quotes the plain text only.
    """
    permissions.require_queue(session, actor, ticket.queue, "rw")
    if original.ticket_id != ticket.id:
        raise ValidationError(N_("no article"), errors={"article": [N_("choose an article of this ticket")]})
    quoted = "\n".join(
        (
            "---------- Forwarded message ----------",
            f"From: {original.from_addr}",
            f"Date: {original.created_at.strftime('%Y-%m-%d %H:%M')} UTC",
            f"Subject: {original.subject}",
            *([f"To: {original.to_addr}"] if original.to_addr else []),
            "",
            original.body_text,
        )
    )
    return mail_article(
        session,
        actor=actor,
        ticket=ticket,
        to_addr=to_addr,
        subject=reply_subject(ticket, f"Fwd: {original.subject or ticket.title}"),
        body_text=f"{comment}\n\n{quoted}" if comment else quoted,
        visible_for_customer=False,
        sender_type="agent",
        attachments=[
            articles.AttachmentDraft(
                filename=attachment.filename,
                content_type=attachment.content_type,
                data=blobs.read(session, sha256=attachment.blob_sha256),
            )
            for attachment in original.attachments
        ],
    )


def _references(answered: Article | None) -> str | None:
    if answered is None or not answered.message_id:
        return None
    chain: Sequence[str] = (answered.references or "").split()
    return " ".join([*chain, answered.message_id])
