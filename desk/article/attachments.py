"""Reading an attachment for download, with the ticket's read permission checked."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.errors import NotFound
from desk.actor import Actor
from desk.article.models import Attachment
from desk.blob import service as blobs
from desk.customer.models import CustomerUser
from desk.permission import service as permissions


def get_attachment(session: Session, *, actor: Actor, attachment_id: int) -> Attachment:
    """The attachment, if ``actor`` may read its ticket (and, for a customer, its article).

    A customer gets *not found* for anything they may not see.
    """
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("no such attachment")
    article = attachment.article
    permissions.require_ticket_read(session, actor, article.ticket)
    if isinstance(actor, CustomerUser) and not article.is_visible_for_customer:
        raise NotFound("no such attachment")
    return attachment


def open_attachment(session: Session, *, actor: Actor, attachment_id: int) -> tuple[Attachment, bytes]:
    """The attachment and its bytes, checked as :func:`get_attachment` does."""
    attachment = get_attachment(session, actor=actor, attachment_id=attachment_id)
    return attachment, blobs.read(session, sha256=attachment.blob_sha256)
