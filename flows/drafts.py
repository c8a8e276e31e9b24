"""What a channel hands to a use case as the text of a new article."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from desk.actor import Actor
from desk.article import service as articles
from desk.article.models import Article
from desk.article.service import AttachmentDraft
from desk.rawmail.models import RawMail
from desk.ticket.models import Ticket


@dataclass(frozen=True)
class ArticleDraft:
    """An article not written yet: the same fields whether it came by mail, form or API."""

    channel: str
    body_text: str
    subject: str = ""
    sender_type: str | None = None
    visible_for_customer: bool | None = None
    body_html: str | None = None
    from_addr: str = ""
    to_addr: str = ""
    cc_addr: str = ""
    message_id: str | None = None
    in_reply_to: str | None = None
    references: str | None = None
    raw_mail: RawMail | None = None
    attachments: Sequence[AttachmentDraft] = field(default_factory=tuple)

    def but(self, **changes: object) -> ArticleDraft:
        """A copy with ``changes`` (e.g. an internal copy of a rejected follow-up)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def write(self, session: Session, *, actor: Actor, ticket: Ticket) -> Article:
        """Add the article to ``ticket`` through the article service (which checks rights)."""
        return articles.add_article(
            session,
            actor=actor,
            ticket=ticket,
            channel=self.channel,
            body_text=self.body_text,
            subject=self.subject,
            sender_type=self.sender_type,
            visible_for_customer=self.visible_for_customer,
            body_html=self.body_html,
            from_addr=self.from_addr,
            to_addr=self.to_addr,
            cc_addr=self.cc_addr,
            message_id=self.message_id,
            in_reply_to=self.in_reply_to,
            references=self.references,
            raw_mail=self.raw_mail,
            attachments=list(self.attachments),
        )
