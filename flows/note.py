"""Notes on a ticket: internal notes, visible notes and phone notes (web form, API, processes).

The article service decides who may write what: an internal note needs ``note`` on the
queue; anything the customer sees needs ``rw`` and *may contact customers*.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from desk.actor import Actor
from desk.article.models import Article
from desk.article.service import AttachmentDraft
from desk.ticket.models import Ticket
from desk.time_accounting import service as time_accounting
from flows.drafts import ArticleDraft


def note(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    body_text: str,
    subject: str = "",
    visible_for_customer: bool = False,
    attachments: Sequence[AttachmentDraft] = (),
    time_units: object = None,
) -> Article:
    """Add a note, internal unless ``visible_for_customer``; ``time_units``: minutes spent."""
    draft = ArticleDraft(
        channel="note",
        body_text=body_text,
        subject=subject,
        visible_for_customer=visible_for_customer,
        attachments=tuple(attachments),
    )
    article = draft.write(session, actor=actor, ticket=ticket)
    time_accounting.book(session, actor=actor, ticket=ticket, raw=time_units, article_id=article.id)
    return article


def phone_note(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    body_text: str,
    subject: str = "",
    attachments: Sequence[AttachmentDraft] = (),
    time_units: object = None,
) -> Article:
    """Record a phone call with the customer (visible to them); ``time_units``: minutes spent."""
    draft = ArticleDraft(
        channel="phone",
        body_text=body_text,
        subject=subject,
        visible_for_customer=True,
        attachments=tuple(attachments),
    )
    article = draft.write(session, actor=actor, ticket=ticket)
    time_accounting.book(session, actor=actor, ticket=ticket, raw=time_units, article_id=article.id)
    return article
