"""Permission checks: groups × permission types, roles, queue → group, agent flags.

An agent's rights on a group are the union of the types granted directly and through every
role the agent has.  ``rw`` includes every other type.  Each queue belongs to one group, so a
right on a queue is a right on its group.  On top of that:

* a read-only observer holds only ``ro``, whatever the groups say;
* an agent (or any of their roles) without *may contact customers* cannot write anything a
  customer will see;
* administration needs ``rw`` on the ``admin`` group;
* a customer user sees only their own tickets (and their company's, unless that is switched
  off for them) and only customer-visible articles; any other ticket is reported as *not
  found*, so ticket ids cannot be probed.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from core.errors import NotFound, PermissionDenied
from desk.actor import Actor, SystemActor
from desk.agent.models import (
    PERMISSION_TYPES,
    Agent,
    AgentGroupPermission,
    AgentRole,
    Group,
    Role,
    RoleGroupPermission,
)
from desk.customer.models import CustomerUser
from desk.queue.models import Queue
from desk.ticket.models import Ticket

ADMIN_GROUP = "admin"


def group_permissions(session: Session, agent: Agent) -> dict[int, set[str]]:
    """Group id → the permission types the agent effectively holds there."""
    if not agent.active:
        return {}
    direct = session.execute(
        select(AgentGroupPermission.group_id, AgentGroupPermission.permission).where(
            AgentGroupPermission.agent_id == agent.id
        )
    ).all()
    via_roles = session.execute(
        select(RoleGroupPermission.group_id, RoleGroupPermission.permission)
        .join(AgentRole, AgentRole.role_id == RoleGroupPermission.role_id)
        .join(Role, Role.id == RoleGroupPermission.role_id)
        .where(AgentRole.agent_id == agent.id, Role.valid.is_(True))
    ).all()
    result: dict[int, set[str]] = {}
    for group_id, permission in [*direct, *via_roles]:
        granted = set(PERMISSION_TYPES) if permission == "rw" else {permission}
        result.setdefault(group_id, set()).update(granted)
    if agent.read_only:
        result = {gid: {"ro"} for gid, perms in result.items() if "ro" in perms}
    return result


def has_group_permission(session: Session, agent: Agent, group_id: int, permission: str) -> bool:
    """True when ``agent`` holds ``permission`` on the group."""
    if permission not in PERMISSION_TYPES:
        raise ValueError(f"unknown permission type {permission!r}")
    return permission in group_permissions(session, agent).get(group_id, set())


def has_queue_permission(session: Session, actor: Actor, queue: Queue, permission: str) -> bool:
    """True when ``actor`` holds ``permission`` on ``queue``; the system holds every right."""
    if isinstance(actor, SystemActor):
        return True
    if isinstance(actor, CustomerUser):
        return False
    return has_group_permission(session, actor, queue.group_id, permission)


def require_queue(session: Session, actor: Actor, queue: Queue, permission: str) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` holds ``permission`` on ``queue``."""
    if isinstance(actor, Agent) and actor.read_only and permission != "ro":
        raise PermissionDenied(f"{actor.login} is a read-only observer and cannot change anything")
    if not has_queue_permission(session, actor, queue, permission):
        raise PermissionDenied(f"permission '{permission}' on queue {queue.name} is required")


def may_contact_customers(actor: Actor) -> bool:
    """False for agents flagged (directly or by a role) as not writing to customers."""
    if isinstance(actor, Agent):
        return (
            actor.may_contact_customers
            and not actor.read_only
            and all(role.may_contact_customers for role in actor.roles if role.valid)
        )
    return True


def require_may_contact_customers(actor: Actor) -> None:
    """Raise unless the actor may write text that a customer will read."""
    if not may_contact_customers(actor):
        raise PermissionDenied("this agent may not write to customers; use an internal note")


def is_admin(session: Session, actor: Actor) -> bool:
    """True for the system and for agents with ``rw`` on the admin group."""
    if isinstance(actor, SystemActor):
        return True
    if not isinstance(actor, Agent) or actor.read_only:
        return False
    group_id = session.scalar(select(Group.id).where(Group.name == ADMIN_GROUP))
    return group_id is not None and has_group_permission(session, actor, group_id, "rw")


def require_admin(session: Session, actor: Actor) -> None:
    """Raise unless ``actor`` may administer the system."""
    if not is_admin(session, actor):
        raise PermissionDenied("administration needs rw on the admin group")


def queue_ids_with(session: Session, agent: Agent, permission: str) -> set[int]:
    """Ids of the queues on which ``agent`` holds ``permission``."""
    groups = [gid for gid, perms in group_permissions(session, agent).items() if permission in perms]
    if not groups:
        return set()
    return set(session.scalars(select(Queue.id).where(Queue.group_id.in_(groups))))


def customer_ticket_condition(customer: CustomerUser) -> ColumnElement[bool]:
    """SQL condition selecting the tickets a customer user may see."""
    conditions = [Ticket.customer_user_id == customer.id]
    if customer.sees_company_tickets and customer.company_id is not None:
        conditions.append(Ticket.customer_company_id == customer.company_id)
    return or_(*conditions)


def visible_ticket_condition(session: Session, actor: Actor) -> ColumnElement[bool]:
    """SQL condition selecting the tickets ``actor`` may read."""
    if isinstance(actor, SystemActor):
        return Ticket.id.is_not(None)
    if isinstance(actor, CustomerUser):
        return customer_ticket_condition(actor) if actor.valid else false()
    queue_ids = queue_ids_with(session, actor, "ro")
    return Ticket.queue_id.in_(queue_ids) if queue_ids else false()


def can_read_ticket(session: Session, actor: Actor, ticket: Ticket) -> bool:
    """True when ``actor`` may see ``ticket`` at all."""
    if isinstance(actor, SystemActor):
        return True
    if isinstance(actor, CustomerUser):
        if not actor.valid:
            return False
        if ticket.customer_user_id == actor.id:
            return True
        return (
            actor.sees_company_tickets
            and actor.company_id is not None
            and ticket.customer_company_id == actor.company_id
        )
    return has_queue_permission(session, actor, ticket.queue, "ro")


def require_ticket_read(session: Session, actor: Actor, ticket: Ticket) -> None:
    """Raise unless ``actor`` may read ``ticket``; customers get *not found*."""
    if can_read_ticket(session, actor, ticket):
        return
    if isinstance(actor, CustomerUser):
        raise NotFound("no such ticket")
    raise PermissionDenied(f"you may not read tickets in queue {ticket.queue.name}")
