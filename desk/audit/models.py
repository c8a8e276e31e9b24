"""The AuditEntry model: one administrative change of one object."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    """One change made through administration (agents, queues, texts, customers…).

    Rows are only ever added, like ticket history: the trail must survive the object.
    ``old_values`` and ``new_values`` are JSON objects of the changed fields only.
    """

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column()
    # The actor's name at the time: the trail must read the same after a rename.
    actor_name: Mapped[str] = mapped_column(String(400))
    # e.g. "agent", "queue", "role", "template", "customer_user"
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column()
    # A readable name of the object at the time (its login, its queue path…).
    object_label: Mapped[str] = mapped_column(String(400), default="")
    # e.g. "create", "update", "deactivate", "reactivate", "grant", "revoke", "import"
    action: Mapped[str] = mapped_column(String(40))
    old_values: Mapped[str] = mapped_column(Text, default="{}")
    new_values: Mapped[str] = mapped_column(Text, default="{}")
