"""Nothing is deleted: the ORM refuses to delete tickets, articles, attachments, raw mails
and history, and refuses to rewrite history rows.

The service layer has no delete functions at all; this guard catches the mistake a future
change could make (``session.delete(ticket)``, a cascade) before it reaches the database,
with a clear :class:`DeletionForbidden` instead of a database error.

It only sees the unit of work: bulk ``delete()`` / ``update()`` statements and raw SQL pass
it by.  Those are refused by the database itself: migration 0009 installs triggers on both
PostgreSQL and SQLite that refuse ``DELETE`` (PostgreSQL: and ``TRUNCATE``) on the same
tables and ``UPDATE`` of history rows and blobs (``tests/desk/test_database_guards.py``).
Keep the two lists in step.
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

# The same tables as migrations/versions/0009_database_guards.NEVER_DELETED.
_NEVER_DELETED = (Ticket, Article, Attachment, History, RawMail, Blob)


@event.listens_for(Session, "before_flush")
def _refuse_deletes(session: Session, _flush_context: UOWTransaction, _instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, _NEVER_DELETED):
            raise DeletionForbidden(f"{type(obj).__name__} records are never deleted")
    for obj in session.dirty:
        if isinstance(obj, History) and session.is_modified(obj):
            raise DeletionForbidden("history rows are never changed")
