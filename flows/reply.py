"""An agent answers the customer by e-mail (web form, API).

The mail is written by :func:`desk.article.reply.send_reply` (``rw`` and *may contact
customers*, auto-lock, article and outbox row in one transaction).  The first answer to a
``new`` ticket makes it ``open``, as in OTRS: the customer has heard from us.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from desk.actor import Actor
from desk.article import reply as mail
from desk.article.models import Article
from desk.article.service import AttachmentDraft
from desk.template import service as templates
from desk.ticket import service as tickets
from desk.ticket import states
from desk.ticket.models import Ticket
from desk.time_accounting import service as time_accounting


def reply(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    body_text: str,
    subject: str = "",
    attachments: Sequence[AttachmentDraft] = (),
    template_id: int | None = None,
    time_units: object = None,
) -> Article:
    """Send the answer; returns the new customer-visible e-mail article.

    ``template_id`` names the standard template the answer was written from: its files go
    along (only a valid template offered in the ticket's queue).  ``time_units`` is the time
    spent as typed (minutes), booked with the article (see :mod:`desk.time_accounting`).
    """
    files = list(attachments)
    if template_id is not None:
        files += templates.attachment_drafts(session, ticket=ticket, template_id=template_id)
    article = mail.send_reply(
        session, actor=actor, ticket=ticket, body_text=body_text, subject=subject, attachments=files
    )
    time_accounting.book(session, actor=actor, ticket=ticket, raw=time_units, article_id=article.id)
    if ticket.state.type == "new":
        tickets.set_state(
            session, actor=actor, ticket=ticket, state=states.first_state_of_type(session, "open")
        )
    return article
