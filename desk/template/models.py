"""StandardTemplate, StandardAttachment, Salutation, Signature, AutoResponse."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base
from desk.queue.models import Queue

TEMPLATE_KINDS = ("answer", "create", "forward", "note", "email")
AUTO_RESPONSE_KINDS = ("new_ticket", "follow_up", "reject")
# The languages a text can have a variant in (the UI's languages); the text itself is the
# default, used for every other language.
VARIANT_LANGUAGES = ("en", "de", "ru", "hu")
VARIANT_OWNERS = ("template", "salutation", "signature", "auto_response")

template_queue = Table(
    "template_queue",
    Base.metadata,
    Column("template_id", ForeignKey("standard_template.id"), primary_key=True),
    Column("queue_id", ForeignKey("queue.id"), primary_key=True),
)

template_attachment = Table(
    "template_attachment",
    Base.metadata,
    Column("template_id", ForeignKey("standard_template.id"), primary_key=True),
    Column("attachment_id", ForeignKey("standard_attachment.id"), primary_key=True),
)


class Salutation(Base):
    """The opening of an answer, e.g. ``Dear {{ customer.first_name }},``."""

    __tablename__ = "salutation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    text: Mapped[str] = mapped_column(Text)
    valid: Mapped[bool] = mapped_column(Boolean, default=True)


class Signature(Base):
    """The closing of an answer, e.g. the team's name and phone number."""

    __tablename__ = "signature"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    text: Mapped[str] = mapped_column(Text)
    valid: Mapped[bool] = mapped_column(Boolean, default=True)


class StandardAttachment(Base):
    """A file that templates can carry (a form, a manual)."""

    __tablename__ = "standard_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    filename: Mapped[str] = mapped_column(String(1000))
    content_type: Mapped[str] = mapped_column(String(255))
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"))


class StandardTemplate(Base):
    """A prepared text with variables for frequent questions (the FAQ answer of S3)."""

    __tablename__ = "standard_template"
    __table_args__ = (
        CheckConstraint("kind IN ('answer', 'create', 'forward', 'note', 'email')", name="template_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="answer")
    text: Mapped[str] = mapped_column(Text)
    comment: Mapped[str] = mapped_column(Text, default="")
    valid: Mapped[bool] = mapped_column(Boolean, default=True)

    queues: Mapped[list[Queue]] = relationship(secondary=template_queue)
    attachments: Mapped[list[StandardAttachment]] = relationship(secondary=template_attachment)


class AutoResponse(Base):
    """The automatic answer of a queue to a new ticket, a follow-up, or a rejected follow-up.

    Sent by :mod:`flows.automatic_answer` whatever channel the customer used (OTRS's auto
    responses, with "auto responses for web tickets" on).
    """

    __tablename__ = "auto_response"
    __table_args__ = (
        UniqueConstraint("queue_id", "kind", name="uq_auto_response_queue_kind"),
        CheckConstraint("kind IN ('new_ticket', 'follow_up', 'reject')", name="auto_response_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"))
    kind: Mapped[str] = mapped_column(String(20))
    # Jinja text (sandboxed) with the template variables of desk.template.
    subject: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    valid: Mapped[bool] = mapped_column(Boolean, default=True)


class TextVariant(Base):
    """One language's version of a template, salutation, signature or automatic answer.

    One table for all four kinds of text, so they are translated and picked the same way
    (:mod:`desk.template.variants`): the customer's language when a variant exists, else
    the text's own (default) wording.  ``subject`` is used by automatic answers only.
    """

    __tablename__ = "text_variant"
    __table_args__ = (
        UniqueConstraint("owner_type", "owner_id", "language", name="uq_text_variant_owner_language"),
        CheckConstraint(
            "owner_type IN ('template', 'salutation', 'signature', 'auto_response')", name="owner_type"
        ),
        CheckConstraint("language IN ('en', 'de', 'ru', 'hu')", name="language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_type: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[int] = mapped_column()
    language: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
