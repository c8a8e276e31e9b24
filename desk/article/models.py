"""Article and Attachment."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from desk.ticket.models import Ticket

CHANNELS = ("email", "phone", "note", "web", "system")
SENDER_TYPES = ("customer", "agent", "system", "external")


class Article(Base):
    """One entry of a ticket: a mail in or out, a phone call, a note, a web message."""

    __tablename__ = "article"
    __table_args__ = (
        CheckConstraint("channel IN ('email', 'phone', 'note', 'web', 'system')", name="channel"),
        CheckConstraint("sender_type IN ('customer', 'agent', 'system', 'external')", name="sender_type"),
        # Full-text search over subject and body (desk.ticket.search), PostgreSQL only (migration
        # 0004).  The expression must stay the one the search uses, or the index is not used.
        Index(
            "ix_article_search",
            text("to_tsvector('simple', (subject || ' ') || body_text)"),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    sender_type: Mapped[str] = mapped_column(String(20))
    is_visible_for_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    from_addr: Mapped[str] = mapped_column(Text, default="")
    to_addr: Mapped[str] = mapped_column(Text, default="")
    cc_addr: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    # Already sanitized when stored; never the raw HTML of a mail.
    body_html: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    references: Mapped[str | None] = mapped_column(Text)
    raw_mail_id: Mapped[int | None] = mapped_column(ForeignKey("raw_mail.id"))
    created_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    created_by_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="articles")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="article", order_by="Attachment.id", passive_deletes="all"
    )


class Attachment(Base):
    """A file of an article; the bytes live once in the content-addressed blob store."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id"), index=True)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"))
    filename: Mapped[str] = mapped_column(String(1000), default="")
    content_type: Mapped[str] = mapped_column(String(255), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer)
    is_inline: Mapped[bool] = mapped_column(Boolean, default=False)
    content_id: Mapped[str | None] = mapped_column(String(998))

    article: Mapped[Article] = relationship(back_populates="attachments")
