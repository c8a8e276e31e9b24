"""Forward an article of a ticket to someone by e-mail (web form, API).

The address is checked here, so every channel refuses the same input; who may mail whom
(a customer's address needs *may contact customers*) is decided where every ticket mail is
written, :func:`desk.article.reply.mail_article`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.article import reply as mail
from desk.article.models import Article
from desk.permission import service as permissions
from desk.ticket.models import Ticket

MAX_EMAIL = 254


def check_address(to_addr: str) -> str:
    """One plain e-mail address, or a :class:`ValidationError` for the ``to`` field."""
    to_addr = to_addr.strip()
    if (
        to_addr.count("@") != 1
        or len(to_addr) > MAX_EMAIL
        or any(ch.isspace() or ch in ",;<>\"'\x00" for ch in to_addr)
        or not all(to_addr.split("@"))
    ):
        raise ValidationError(N_("invalid address"), errors={"to": [N_("enter one e-mail address")]})
    return to_addr


def forwarded_article(session: Session, *, ticket: Ticket, article_id: int | None) -> Article:
    """The article to forward: the one named, or the ticket's newest."""
    query = select(Article).where(Article.ticket_id == ticket.id)
    if article_id is not None:
        query = query.where(Article.id == article_id)
    found = session.scalar(query.order_by(Article.id.desc()).limit(1))
    if found is None:
        raise ValidationError(N_("no article"), errors={"article": [N_("choose an article of this ticket")]})
    return found


def forward(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    to_addr: str,
    article_id: int | None = None,
    comment: str = "",
) -> Article:
    """Forward the article (default: the newest) with an optional comment; returns the mail's article."""
    # The right first: an agent who may not forward learns that, not what is wrong with the address.
    permissions.require_queue(session, actor, ticket.queue, "rw")
    address = check_address(to_addr)
    original = forwarded_article(session, ticket=ticket, article_id=article_id)
    return mail.forward_article(
        session, actor=actor, ticket=ticket, original=original, to_addr=address, comment=comment.strip()
    )
