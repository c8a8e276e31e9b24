"""Why an agent may (or may not) do something in a queue: each permission type and its source.

The answer is computed from the same rows as :func:`desk.permission.service.group_permissions`
and is checked against it, so the page can never say something the checks do not do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.actor import Actor
from desk.agent.models import (
    PERMISSION_TYPES,
    Agent,
    AgentGroupPermission,
    AgentRole,
    Role,
    RoleGroupPermission,
)
from desk.permission.service import group_permissions, is_admin, may_contact_customers, require_admin
from desk.queue.models import Queue


@dataclass(frozen=True)
class Source:
    """One reason a type is held: a direct grant or a role, of the type itself or of ``rw``."""

    via_role: str | None  # None: granted to the agent directly
    through_rw: bool  # True: the grant is ``rw``, which includes this type
    role_active: bool = True


@dataclass(frozen=True)
class PermissionLine:
    """One permission type in the queue: whether it is held, and from where."""

    permission: str
    granted: bool
    sources: list[Source] = field(default_factory=list)
    # Held by a grant but taken away by a rule (observer, inactive agent).
    withheld_by: str | None = None


@dataclass(frozen=True)
class Explanation:
    """The whole answer for one agent and one queue."""

    agent: Agent
    queue: Queue
    lines: list[PermissionLine]
    read_only: bool
    active: bool
    is_admin: bool
    may_contact_customers: bool


def explain(session: Session, *, actor: Actor, agent: Agent, queue: Queue) -> Explanation:
    """Per permission type on ``queue``'s group: granted or not, directly or through which role."""
    require_admin(session, actor)
    group_id = queue.group_id
    direct = set(
        session.scalars(
            select(AgentGroupPermission.permission).where(
                AgentGroupPermission.agent_id == agent.id, AgentGroupPermission.group_id == group_id
            )
        )
    )
    via_roles = session.execute(
        select(Role.name, Role.valid, RoleGroupPermission.permission)
        .join(AgentRole, AgentRole.role_id == Role.id)
        .join(RoleGroupPermission, RoleGroupPermission.role_id == Role.id)
        .where(AgentRole.agent_id == agent.id, RoleGroupPermission.group_id == group_id)
        .order_by(Role.name)
    ).all()
    effective = group_permissions(session, agent).get(group_id, set())
    lines: list[PermissionLine] = []
    for permission in PERMISSION_TYPES:
        sources: list[Source] = []
        for granted, through_rw in ((permission, False), ("rw", True)):
            if through_rw and permission == "rw":
                continue
            if granted in direct:
                sources.append(Source(via_role=None, through_rw=through_rw))
            for role_name, role_valid, role_permission in via_roles:
                if role_permission == granted:
                    sources.append(Source(via_role=role_name, through_rw=through_rw, role_active=role_valid))
        withheld: str | None = None
        held_by_grant = any(s.role_active for s in sources)
        if held_by_grant and permission not in effective:
            withheld = "inactive" if not agent.active else "read_only"
        lines.append(
            PermissionLine(
                permission=permission,
                granted=permission in effective,
                sources=sources,
                withheld_by=withheld,
            )
        )
    return Explanation(
        agent=agent,
        queue=queue,
        lines=lines,
        read_only=agent.read_only,
        active=agent.active,
        is_admin=is_admin(session, agent),
        may_contact_customers=may_contact_customers(agent),
    )
