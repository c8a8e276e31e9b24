"""Nothing is deleted: the ORM refuses to delete tickets, articles, attachments, raw mails
and history, and refuses to rewrite history rows.

The service layer has no delete functions at all; this guard catches the mistake a future
change could make (``session.delete(ticket)``, a cascade) before it reaches the database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

from core.errors import DeletionForbidden
from desk.article.models import Article, Attachment
from desk.blob.models import Blob
from desk.history.models import History
from desk.rawmail.models import RawMail
from desk.ticket.models import Ticket

_NEVER_DELETED = (Ticket, Article, Attachment, History, RawMail, Blob)


@event.listens_for(Session, "before_flush")
def _refuse_deletes(session: Session, _flush_context: UOWTransaction, _instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, _NEVER_DELETED):
            raise DeletionForbidden(f"{type(obj).__name__} records are never deleted")
    for obj in session.dirty:
        if isinstance(obj, History) and session.is_modified(obj):
            raise DeletionForbidden("history rows are never changed")
