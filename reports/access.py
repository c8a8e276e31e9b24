"""Who may read statistics: administrators, and agents with ``ro`` on the ``stats`` group."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import PermissionDenied
from desk.actor import Actor
from desk.agent.models import Agent, Group
from desk.permission import service as permissions

STATS_GROUP = "stats"


def may_read(session: Session, actor: Actor) -> bool:
    """True for administrators and for agents with ``ro`` on the stats group."""
    if permissions.is_admin(session, actor):
        return True
    if not isinstance(actor, Agent) or not actor.active:
        return False
    group_id = session.scalar(select(Group.id).where(Group.name == STATS_GROUP))
    return group_id is not None and permissions.has_group_permission(session, actor, group_id, "ro")


def require_read(session: Session, actor: Actor) -> None:
    """Raise unless ``actor`` may read statistics."""
    if not may_read(session, actor):
        raise PermissionDenied("statistics need ro on the stats group")
