"""Saving, listing and deleting an agent's views; nobody sees or deletes another's.

A view stores only the filter keys its page reads (never a page number or anything else
a link might carry), encoded again, so what comes back is a clean query string.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import FieldMessage, NotFound, ValidationError
from core.i18n import N_
from desk.agent.models import Agent
from desk.saved_view.models import KINDS, SavedView

MAX_NAME = 100
MAX_VALUE = 500
MAX_VIEWS = 50
# The filters each page reads.
FILTER_KEYS: dict[str, tuple[str, ...]] = {
    "inbox": ("scope", "queue"),
    "search": ("words", "number", "customer", "queue", "state_type", "created_from", "created_to"),
}


def clean_query(kind: str, pairs: Iterable[tuple[str, str]]) -> str:
    """The query string of ``pairs`` with only ``kind``'s filter keys (empty values left out)."""
    keys = FILTER_KEYS[kind]
    kept = [(k, v.strip()[:MAX_VALUE]) for k, v in pairs if k in keys and v.strip()]
    return urlencode(sorted(kept, key=lambda pair: keys.index(pair[0])))


def list_views(session: Session, *, agent: Agent, kind: str | None = None) -> Sequence[SavedView]:
    """The agent's own views (of one kind when given), by name."""
    query = select(SavedView).where(SavedView.agent_id == agent.id)
    if kind is not None:
        query = query.where(SavedView.kind == kind)
    return session.scalars(query.order_by(SavedView.kind, SavedView.name)).all()


def save_view(
    session: Session, *, agent: Agent, name: str, kind: str, pairs: Iterable[tuple[str, str]]
) -> SavedView:
    """Save the filters under ``name``; a view of that name and kind is replaced."""
    name = " ".join(name.split())
    errors: dict[str, list[str]] = {}
    if kind not in KINDS:
        errors["kind"] = ["choose one of the list"]
    if not name:
        errors["name"] = ["this field is required"]
    elif len(name) > MAX_NAME:
        errors["name"] = [FieldMessage(N_("at most %(num)s characters"), num=MAX_NAME)]
    if errors:
        raise ValidationError("invalid view", errors=errors)
    query = clean_query(kind, pairs)
    existing = session.scalars(
        select(SavedView).where(
            SavedView.agent_id == agent.id, SavedView.kind == kind, SavedView.name == name
        )
    ).one_or_none()
    if existing is None:
        if len(list_views(session, agent=agent)) >= MAX_VIEWS:
            raise ValidationError(
                N_("too many views"),
                errors={"name": [FieldMessage(N_("at most %(num)s views"), num=MAX_VIEWS)]},
            )
        existing = SavedView(agent_id=agent.id, name=name, kind=kind)
        session.add(existing)
    existing.query = query
    session.flush()
    return existing


def delete_view(session: Session, *, agent: Agent, view_id: int) -> None:
    """Delete one of the agent's views; another agent's is *not found*, as if it did not exist."""
    view = session.get(SavedView, view_id)
    if view is None or view.agent_id != agent.id:
        raise NotFound("no such view")
    session.delete(view)
    session.flush()
