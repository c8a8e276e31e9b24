"""Recording and reading the audit trail of administrative changes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desk.actor import Actor, actor_kind, actor_label
from desk.audit.models import AuditEntry
from desk.permission.service import require_admin

PAGE_SIZE = 50


def _jsonable(values: Mapping[str, object] | None) -> str:
    return json.dumps(dict(values or {}), default=str, ensure_ascii=False, sort_keys=True)


def record(
    session: Session,
    *,
    actor: Actor,
    object_type: str,
    object_id: int | None,
    action: str,
    object_label: str = "",
    old: Mapping[str, object] | None = None,
    new: Mapping[str, object] | None = None,
) -> AuditEntry:
    """Append one audit entry; callers pass only the fields that changed."""
    entry = AuditEntry(
        actor_type=actor_kind(actor),
        actor_id=getattr(actor, "id", None),
        actor_name=actor_label(actor),
        object_type=object_type,
        object_id=object_id,
        object_label=object_label,
        action=action,
        old_values=_jsonable(old),
        new_values=_jsonable(new),
    )
    session.add(entry)
    session.flush()
    return entry


def changes(
    before: Mapping[str, object], after: Mapping[str, object]
) -> tuple[dict[str, object], dict[str, object]]:
    """The ``(old, new)`` pair of the keys whose value differs between two snapshots."""
    keys = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after.get(key) for key in keys}


def entries_for(session: Session, *, object_type: str, object_id: int | None = None) -> Sequence[AuditEntry]:
    """The entries of one object (or of one type), newest first."""
    query = select(AuditEntry).where(AuditEntry.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == object_id)
    return session.scalars(query.order_by(AuditEntry.id.desc())).all()


@dataclass(frozen=True)
class AuditPage:
    """One page of the global audit list."""

    entries: Sequence[AuditEntry]
    page: int
    has_next: bool


def search(
    session: Session,
    *,
    actor: Actor,
    object_type: str = "",
    actor_name: str = "",
    day_from: date | None = None,
    day_to: date | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> AuditPage:
    """Every entry, newest first, filtered by object type, actor (part of the name) and days (UTC)."""
    require_admin(session, actor)
    query = select(AuditEntry)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if actor_name.strip():
        query = query.where(func.lower(AuditEntry.actor_name).like(f"%{actor_name.strip().lower()}%"))
    if day_from is not None:
        query = query.where(AuditEntry.created_at >= datetime.combine(day_from, time(), UTC))
    if day_to is not None:
        end = datetime.combine(day_to, time(), UTC) + timedelta(days=1)
        query = query.where(AuditEntry.created_at < end)
    page = max(page, 1)
    rows = session.scalars(
        query.order_by(AuditEntry.id.desc()).offset((page - 1) * page_size).limit(page_size + 1)
    ).all()
    return AuditPage(entries=rows[:page_size], page=page, has_next=len(rows) > page_size)


def object_types(session: Session, *, actor: Actor) -> list[str]:
    """The object types that have entries, for the filter's picker."""
    require_admin(session, actor)
    return sorted(session.scalars(select(AuditEntry.object_type).distinct()))
