"""Permission checks: groups × permission types, roles, queue → group, agent flags.

An agent's rights on a group are the union of the types granted directly and through every
role the agent has.  ``rw`` includes every other type.  Each queue belongs to one group, so a
right on a queue is a right on its group.  On top of that:

* a read-only observer holds only ``ro``, whatever the groups say;
* an agent (or any of their roles) without *may contact customers* cannot write anything a
  customer will see;
* administration needs ``rw`` on the ``admin`` group;
* a temporary membership (:mod:`desk.team`) adds ``rw`` on its queue's group until it ends;
* a customer user sees only their own tickets (and their company's, unless that is switched
  off for them) and only customer-visible articles; any other ticket is reported as *not
  found*, so ticket ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, String, event, false, literal, or_, select, union_all
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from core.db import utcnow
from core.errors import NotFound, PermissionDenied
from core.i18n import N_
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
from desk.team.models import TemporaryMembership
from desk.ticket.models import Ticket

ADMIN_GROUP = "admin"

# The session.info key of the per-unit-of-work memo of group permissions (see cache_in).
_CACHE_KEY = "desk.permission.group_permissions"


class _Memo:
    """What one unit of work has learned about agents' rights."""

    def __init__(self) -> None:
        self.groups: dict[int, dict[int, set[str]]] = {}
        self.group_names: dict[str, int] = {}
        self.queues: list[Queue] | None = None

    def clear(self) -> None:
        self.groups.clear()
        self.group_names.clear()
        self.queues = None


def cache_in(session: Session) -> None:
    """Remember each agent's group permissions for the rest of ``session``'s unit of work.

    One page asks the same question many times (the ticket view: every service checks the
    reader's rights, and the owner list asks for every agent); this answers them from one
    statement per agent asked (or per batch, see :func:`group_permissions_of`) and reads the
    queues once.  Only a short unit of work should opt in (the web request does): the memo is
    dropped on every flush and while the session holds unflushed changes, so the session's
    own grants are always seen (bulk UPDATE and DELETE statements drop it too), but grants
    committed meanwhile by *another* session are not.
    """
    session.info[_CACHE_KEY] = _Memo()


# What the memo is made of: a change to one of these (pending, flushed or by a bulk
# statement) drops it.  Agent is here because a role given through ``Agent.roles`` changes
# the ``agent_role`` table without an AgentRole object; a ticket, article or task is not.
_RIGHTS_MODELS: tuple[type, ...] = (
    Agent,
    AgentGroupPermission,
    AgentRole,
    Group,
    Queue,
    Role,
    RoleGroupPermission,
    TemporaryMembership,
)
_RIGHTS_TABLES = frozenset(model.__tablename__ for model in _RIGHTS_MODELS)  # type: ignore[attr-defined]


def _touches_rights(session: Session) -> bool:
    pending = (session.new, session.dirty, session.deleted)
    return any(isinstance(obj, _RIGHTS_MODELS) for objects in pending for obj in objects)


def _cache(session: Session) -> _Memo | None:
    memo: _Memo | None = session.info.get(_CACHE_KEY)
    if memo is not None and _touches_rights(session):
        # A grant, a role or an agent flag may be pending: answer from the database (which
        # flushes).  Other pending rows (the ticket a use case is changing) leave it.
        memo.clear()
        return None
    return memo


@event.listens_for(Session, "after_flush")
def _forget_after_flush(session: Session, _context: Any) -> None:
    # new/dirty/deleted still hold what this flush wrote (SQLAlchemy's after_flush).
    memo = session.info.get(_CACHE_KEY)
    if memo is not None and _touches_rights(session):
        memo.clear()


@event.listens_for(Session, "do_orm_execute")
def _forget_on_bulk_writes(state: ORMExecuteState) -> None:
    # An UPDATE or DELETE statement (a bulk revoke, say) changes rows behind the ORM's back;
    # one on a table the memo is not made of (the "seen" marker's upsert) leaves it.
    if state.is_update or state.is_delete or state.is_insert:
        memo = state.session.info.get(_CACHE_KEY)
        if memo is not None and _statement_table(state) in _RIGHTS_TABLES | {None}:
            memo.clear()


def _statement_table(state: ORMExecuteState) -> str | None:
    """The table an INSERT, UPDATE or DELETE writes, None when it cannot be told."""
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    return name if isinstance(name, str) else None


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, _previous: Any) -> None:
    memo = session.info.get(_CACHE_KEY)
    if memo is not None:
        memo.clear()


@event.listens_for(Session, "after_transaction_end")
def _forget_after_transaction(session: Session, transaction: SessionTransaction) -> None:
    # A savepoint rolled back may take a grant read since with it; a commit ends the unit
    # of work.  (A flush's own inner transaction is neither and keeps the memo.)
    if transaction.nested or transaction.parent is None:
        memo = session.info.get(_CACHE_KEY)
        if memo is not None:
            memo.clear()


def group_permissions(session: Session, agent: Agent) -> dict[int, set[str]]:
    """Group id → the permission types the agent effectively holds there."""
    return group_permissions_of(session, [agent]).get(agent.id, {})


def group_permissions_of(session: Session, agents: Iterable[Agent]) -> dict[int, dict[int, set[str]]]:
    """Agent id → group id → the permission types each agent holds there, in two queries."""
    wanted = {agent.id: agent for agent in agents}
    cache = _cache(session)
    missing = [a for a in wanted.values() if a.active and (cache is None or a.id not in cache.groups)]
    found: dict[int, dict[int, set[str]]] = {}
    if missing:
        ids = [a.id for a in missing]
        direct = select(
            AgentGroupPermission.agent_id, AgentGroupPermission.group_id, AgentGroupPermission.permission
        ).where(AgentGroupPermission.agent_id.in_(ids))
        via_roles = (
            select(AgentRole.agent_id, RoleGroupPermission.group_id, RoleGroupPermission.permission)
            .join(AgentRole, AgentRole.role_id == RoleGroupPermission.role_id)
            .join(Role, Role.id == RoleGroupPermission.role_id)
            .where(AgentRole.agent_id.in_(ids), Role.valid.is_(True))
        )
        # Temporary memberships (S11, desk.team) add rw for their time, on top of the agent's
        # own grants, which they never change: once one has ended the rights are as before.
        pulled_in = select(
            TemporaryMembership.agent_id, TemporaryMembership.group_id, literal("rw", String)
        ).where(
            TemporaryMembership.agent_id.in_(ids),
            TemporaryMembership.ended_at.is_(None),
            or_(TemporaryMembership.until.is_(None), TemporaryMembership.until > utcnow()),
        )
        granted_rows = union_all(direct, via_roles, pulled_in).subquery()
        # One statement: both kinds of grant, with the group's name (is_admin needs it).
        rows = session.execute(
            select(
                granted_rows.c.agent_id, granted_rows.c.group_id, granted_rows.c.permission, Group.name
            ).join(Group, Group.id == granted_rows.c.group_id)
        ).all()
        found = {a.id: {} for a in missing}
        names: dict[str, int] = {}
        for agent_id, group_id, permission, group_name in rows:
            granted = set(PERMISSION_TYPES) if permission == "rw" else {permission}
            found[agent_id].setdefault(group_id, set()).update(granted)
            names[group_name] = group_id
        if cache is not None:
            cache.groups.update(found)
            cache.group_names.update(names)
    result: dict[int, dict[int, set[str]]] = {}
    for agent_id, agent in wanted.items():
        if not agent.active:
            result[agent_id] = {}
            continue
        groups = found[agent_id] if agent_id in found else cache.groups[agent_id] if cache else {}
        if agent.read_only:
            groups = {gid: {"ro"} for gid, perms in groups.items() if "ro" in perms}
        # Copies: a caller changing its answer must not change the memo.
        result[agent_id] = {gid: set(perms) for gid, perms in groups.items()}
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
        raise PermissionDenied(
            N_("%(login)s is a read-only observer and cannot change anything"), login=actor.login
        )
    if not has_queue_permission(session, actor, queue, permission):
        raise PermissionDenied(
            N_("permission '%(permission)s' on queue %(queue)s is required"),
            permission=permission,
            queue=queue.name,
        )


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
        raise PermissionDenied(N_("this agent may not write to customers; use an internal note"))


def is_admin(session: Session, actor: Actor) -> bool:
    """True for the system and for agents with ``rw`` on the admin group."""
    if isinstance(actor, SystemActor):
        return True
    if not isinstance(actor, Agent) or actor.read_only:
        return False
    return "rw" in permissions_on_group_named(session, actor, ADMIN_GROUP)


def permissions_on_group_named(session: Session, agent: Agent, name: str) -> set[str]:
    """The permission types ``agent`` holds on the group called ``name`` (none if there is none).

    With the unit of work's memo (:func:`cache_in`) this sends no statement of its own: the
    agent's grants are read with their groups' names, so a name missing among them is a
    group the agent holds nothing on.  The navigation asks it for the admin, stats and
    designer groups on every page.
    """
    held = group_permissions(session, agent)
    cache = _cache(session)
    if cache is not None and agent.id in cache.groups:
        group_id = cache.group_names.get(name)
    else:
        group_id = session.scalar(select(Group.id).where(Group.name == name))
    return set(held.get(group_id, set())) if group_id is not None else set()


def require_admin(session: Session, actor: Actor) -> None:
    """Raise unless ``actor`` may administer the system."""
    if not is_admin(session, actor):
        raise PermissionDenied(N_("administration needs rw on the admin group"))


def queue_ids_with(session: Session, agent: Agent, permission: str) -> set[int]:
    """Ids of the queues on which ``agent`` holds ``permission``."""
    return {queue.id for queue in queues_with(session, agent, permission)}


def queues_with(session: Session, agent: Agent, permission: str) -> list[Queue]:
    """The queues (valid or not, in path order) on which ``agent`` holds ``permission``."""
    groups = {gid for gid, perms in group_permissions(session, agent).items() if permission in perms}
    if not groups:
        return []
    if _cache(session) is None:
        return list(session.scalars(select(Queue).where(Queue.group_id.in_(groups)).order_by(Queue.name)))
    return [queue for queue in all_queues(session) if queue.group_id in groups]


def all_queues(session: Session) -> list[Queue]:
    """Every queue, valid or not, in path order; read once per unit of work with the memo.

    A page asks for several permissions (move targets, the phone-ticket link) and lists the
    queue tree too; a help desk has tens of queues, not millions.  A queue added or changed
    in the session drops the memo, so it is listed.
    """
    cache = _cache(session)
    if cache is None:
        return list(session.scalars(select(Queue).order_by(Queue.name)))
    if cache.queues is None:
        cache.queues = list(session.scalars(select(Queue).order_by(Queue.name)))
    return list(cache.queues)


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
    raise PermissionDenied(N_("you may not read tickets in queue %(queue)s"), queue=ticket.queue.name)
