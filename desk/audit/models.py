"""The AuditEntry model: one administrative change of one object."""

from __future__ import annotations

import json
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

    @property
    def old(self) -> dict[str, object]:
        """The changed fields' values before the change."""
        return _loads(self.old_values)

    @property
    def new(self) -> dict[str, object]:
        """The changed fields' values after the change."""
        return _loads(self.new_values)

    @property
    def changed_fields(self) -> list[tuple[str, object, object]]:
        """``(field, old, new)`` for every field the entry names, in name order."""
        old, new = self.old, self.new
        return [(key, old.get(key), new.get(key)) for key in sorted({*old, *new})]


def _loads(text: str) -> dict[str, object]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
