"""Groups, roles and the OTRS permission matrices (agent ↔ group, role ↔ group, agent ↔ role).

Every function checks :func:`desk.permission.service.require_admin` first, then validates,
changes, records one audit entry with only what changed, and flushes.  Groups and roles are
deactivated (``valid``), never deleted.  A matrix is saved whole: the form (or API body)
says every type of every group, and the difference is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import Delete, delete, select
from sqlalchemy.orm import Session

from core.errors import FieldMessage, NotFound, ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.agent import service as agents
from desk.agent.admin import MAX_ID
from desk.agent.models import (
    PERMISSION_TYPES,
    Agent,
    AgentGroupPermission,
    AgentRole,
    Group,
    Role,
    RoleGroupPermission,
)
from desk.audit import service as audit
from desk.permission.service import ADMIN_GROUP, require_admin

Matrix = dict[int, set[str]]


def list_groups(session: Session, *, actor: Actor) -> Sequence[Group]:
    """Every group by name, inactive ones included."""
    require_admin(session, actor)
    return session.scalars(select(Group).order_by(Group.name)).all()


def list_roles(session: Session, *, actor: Actor) -> Sequence[Role]:
    """Every role by name, inactive ones included."""
    require_admin(session, actor)
    return session.scalars(select(Role).order_by(Role.name)).all()


def get_group(session: Session, *, actor: Actor, group_id: int) -> Group:
    """The group with ``group_id``."""
    require_admin(session, actor)
    group = session.get(Group, group_id) if 0 < group_id <= MAX_ID else None
    if group is None:
        raise NotFound("no such group")
    return group


def get_role(session: Session, *, actor: Actor, role_id: int) -> Role:
    """The role with ``role_id``."""
    require_admin(session, actor)
    role = session.get(Role, role_id) if 0 < role_id <= MAX_ID else None
    if role is None:
        raise NotFound("no such role")
    return role


# Per kind: the error's msgid and the missing name's (one msgid per kind, for translators).
_NAME_MESSAGES = {
    "group": (N_("invalid group"), N_("a group needs a name")),
    "role": (N_("invalid role"), N_("a role needs a name")),
}


def _name(name: str, kind: str) -> str:
    invalid, needs_name = _NAME_MESSAGES[kind]
    name = name.strip()
    if not name:
        raise ValidationError(invalid, errors={"name": [needs_name]})
    if len(name) > 200:
        raise ValidationError(invalid, errors={"name": [N_("at most 200 characters")]})
    return name


def create_group(session: Session, *, actor: Actor, name: str, comment: str = "") -> Group:
    """Create a group."""
    require_admin(session, actor)
    name = _name(name, "group")
    if session.scalar(select(Group.id).where(Group.name == name)) is not None:
        raise ValidationError(
            N_("invalid group"),
            errors={"name": [FieldMessage(N_("a group named %(name)r exists already"), name=name)]},
        )
    group = agents.create_group(session, actor=actor, name=name, comment=comment.strip())
    audit.record(
        session,
        actor=actor,
        object_type="group",
        object_id=group.id,
        object_label=group.name,
        action="create",
        new={"name": group.name, "comment": group.comment},
    )
    return group


def update_group(
    session: Session, *, actor: Actor, group_id: int, name: str, comment: str, valid: bool
) -> Group:
    """Rename, comment, (de)activate a group; the admin group keeps its name and stays active."""
    group = get_group(session, actor=actor, group_id=group_id)
    name = _name(name, "group")
    if group.name == ADMIN_GROUP and (name != ADMIN_GROUP or not valid):
        raise ValidationError(
            "invalid group", errors={"name": ["the admin group cannot be renamed or deactivated"]}
        )
    clash = session.scalar(select(Group.id).where(Group.name == name, Group.id != group.id))
    if clash is not None:
        raise ValidationError(
            N_("invalid group"),
            errors={"name": [FieldMessage(N_("a group named %(name)r exists already"), name=name)]},
        )
    before = {"name": group.name, "comment": group.comment, "valid": group.valid}
    group.name, group.comment, group.valid = name, comment.strip(), valid
    old, new = audit.changes(before, {"name": group.name, "comment": group.comment, "valid": group.valid})
    if new:
        action = "update" if "valid" not in new else ("reactivate" if valid else "deactivate")
        audit.record(
            session,
            actor=actor,
            object_type="group",
            object_id=group.id,
            object_label=group.name,
            action=action,
            old=old,
            new=new,
        )
    session.flush()
    return group


def create_role(
    session: Session, *, actor: Actor, name: str, comment: str = "", may_contact_customers: bool = True
) -> Role:
    """Create a role."""
    require_admin(session, actor)
    name = _name(name, "role")
    if session.scalar(select(Role.id).where(Role.name == name)) is not None:
        raise ValidationError(
            N_("invalid role"),
            errors={"name": [FieldMessage(N_("a role named %(name)r exists already"), name=name)]},
        )
    role = agents.create_role(session, actor=actor, name=name, may_contact_customers=may_contact_customers)
    role.comment = comment.strip()
    audit.record(
        session,
        actor=actor,
        object_type="role",
        object_id=role.id,
        object_label=role.name,
        action="create",
        new={"name": role.name, "comment": role.comment, "may_contact_customers": may_contact_customers},
    )
    session.flush()
    return role


def update_role(
    session: Session,
    *,
    actor: Actor,
    role_id: int,
    name: str,
    comment: str,
    may_contact_customers: bool,
    valid: bool,
) -> Role:
    """Rename, comment, change the customer-contact flag, (de)activate a role."""
    role = get_role(session, actor=actor, role_id=role_id)
    name = _name(name, "role")
    if session.scalar(select(Role.id).where(Role.name == name, Role.id != role.id)) is not None:
        raise ValidationError(
            N_("invalid role"),
            errors={"name": [FieldMessage(N_("a role named %(name)r exists already"), name=name)]},
        )

    def snap() -> dict[str, object]:
        return {
            "name": role.name,
            "comment": role.comment,
            "may_contact_customers": role.may_contact_customers,
            "valid": role.valid,
        }

    before = snap()
    role.name, role.comment = name, comment.strip()
    role.may_contact_customers, role.valid = may_contact_customers, valid
    old, new = audit.changes(before, snap())
    if new:
        action = "update" if "valid" not in new else ("reactivate" if valid else "deactivate")
        audit.record(
            session,
            actor=actor,
            object_type="role",
            object_id=role.id,
            object_label=role.name,
            action=action,
            old=old,
            new=new,
        )
    session.flush()
    return role


def agent_matrix(session: Session, *, actor: Actor, agent_id: int) -> Matrix:
    """Group id → the types granted to the agent directly (not through roles)."""
    require_admin(session, actor)
    rows = session.execute(
        select(AgentGroupPermission.group_id, AgentGroupPermission.permission).where(
            AgentGroupPermission.agent_id == agent_id
        )
    ).all()
    return _to_matrix([(row[0], row[1]) for row in rows])


def role_matrix(session: Session, *, actor: Actor, role_id: int) -> Matrix:
    """Group id → the types the role grants."""
    require_admin(session, actor)
    rows = session.execute(
        select(RoleGroupPermission.group_id, RoleGroupPermission.permission).where(
            RoleGroupPermission.role_id == role_id
        )
    ).all()
    return _to_matrix([(row[0], row[1]) for row in rows])


def _to_matrix(rows: Sequence[tuple[int, str]]) -> Matrix:
    matrix: Matrix = {}
    for group_id, permission in rows:
        matrix.setdefault(group_id, set()).add(permission)
    return matrix


def _check(session: Session, wanted: Mapping[int, Sequence[str] | set[str]]) -> Matrix:
    known = set(session.scalars(select(Group.id)))
    errors: dict[str, list[str]] = {}
    clean: Matrix = {}
    for group_id, perms in wanted.items():
        if group_id not in known:
            errors[f"group_{group_id}"] = [N_("no such group")]
            continue
        bad = [p for p in perms if p not in PERMISSION_TYPES]
        if bad:
            errors[f"group_{group_id}"] = [
                FieldMessage(N_("%(permission)r is not a permission type"), permission=p) for p in bad
            ]
            continue
        if perms:
            clean[group_id] = set(perms)
    if errors:
        raise ValidationError("invalid permissions", errors=errors)
    return clean


def _matrix_changes(
    session: Session, before: Matrix, after: Matrix
) -> tuple[dict[str, object], dict[str, object]]:
    names = {row[0]: row[1] for row in session.execute(select(Group.id, Group.name))}
    old: dict[str, object] = {}
    new: dict[str, object] = {}
    for group_id in sorted({*before, *after}):
        was, now = before.get(group_id, set()), after.get(group_id, set())
        if was != now:
            label = names.get(group_id, str(group_id))
            old[label] = [p for p in PERMISSION_TYPES if p in was]
            new[label] = [p for p in PERMISSION_TYPES if p in now]
    return old, new


def set_agent_matrix(
    session: Session, *, actor: Actor, agent_id: int, grants: Mapping[int, Sequence[str] | set[str]]
) -> bool:
    """Replace the agent's direct grants with ``grants``; True when something changed."""
    require_admin(session, actor)
    agent = session.get(Agent, agent_id) if 0 < agent_id <= MAX_ID else None
    if agent is None:
        raise NotFound("no such agent")
    after = _check(session, grants)
    before = agent_matrix(session, actor=actor, agent_id=agent_id)
    return _save_matrix(
        session,
        actor=actor,
        before=before,
        after=after,
        clear=delete(AgentGroupPermission).where(AgentGroupPermission.agent_id == agent_id),
        row=lambda group_id, permission: AgentGroupPermission(
            agent_id=agent_id, group_id=group_id, permission=permission
        ),
        audited=("agent", agent.id, agent.login),
    )


def set_role_matrix(
    session: Session, *, actor: Actor, role_id: int, grants: Mapping[int, Sequence[str] | set[str]]
) -> bool:
    """Replace what the role grants with ``grants``; True when something changed."""
    role = get_role(session, actor=actor, role_id=role_id)
    after = _check(session, grants)
    before = role_matrix(session, actor=actor, role_id=role_id)
    return _save_matrix(
        session,
        actor=actor,
        before=before,
        after=after,
        clear=delete(RoleGroupPermission).where(RoleGroupPermission.role_id == role_id),
        row=lambda group_id, permission: RoleGroupPermission(
            role_id=role_id, group_id=group_id, permission=permission
        ),
        audited=("role", role.id, role.name),
    )


def _save_matrix(
    session: Session,
    *,
    actor: Actor,
    before: Matrix,
    after: Matrix,
    clear: Delete,
    row: Callable[[int, str], object],
    audited: tuple[str, int, str],
) -> bool:
    """Replace a grant matrix (``clear``, then a ``row`` per grant) and audit the difference."""
    old, new = _matrix_changes(session, before, after)
    if not new:
        return False
    session.execute(clear)
    for group_id, perms in after.items():
        for permission in perms:
            session.add(row(group_id, permission))
    object_type, object_id, object_label = audited
    audit.record(
        session,
        actor=actor,
        object_type=object_type,
        object_id=object_id,
        object_label=object_label,
        action="permissions",
        old=old,
        new=new,
    )
    session.flush()
    return True


def set_agent_roles(session: Session, *, actor: Actor, agent_id: int, role_ids: Sequence[int]) -> bool:
    """Make the agent a member of exactly ``role_ids``; True when something changed."""
    require_admin(session, actor)
    agent = session.get(Agent, agent_id) if 0 < agent_id <= MAX_ID else None
    if agent is None:
        raise NotFound("no such agent")
    roles = {r.id: r for r in session.scalars(select(Role))}
    unknown = [rid for rid in role_ids if rid not in roles]
    if unknown:
        raise ValidationError("invalid roles", errors={"roles": ["no such role"]})
    before = set(session.scalars(select(AgentRole.role_id).where(AgentRole.agent_id == agent_id)))
    after = set(role_ids)
    if before == after:
        return False
    session.execute(delete(AgentRole).where(AgentRole.agent_id == agent_id, AgentRole.role_id.not_in(after)))
    for role_id in after - before:
        session.add(AgentRole(agent_id=agent_id, role_id=role_id))
    session.flush()
    session.expire(agent, ["roles"])
    audit.record(
        session,
        actor=actor,
        object_type="agent",
        object_id=agent.id,
        object_label=agent.login,
        action="roles",
        old={"roles": sorted(roles[r].name for r in before)},
        new={"roles": sorted(roles[r].name for r in after)},
    )
    return True


def role_members(session: Session, *, actor: Actor, role_id: int) -> Sequence[Agent]:
    """The agents in the role, by login."""
    require_admin(session, actor)
    return session.scalars(
        select(Agent)
        .join(AgentRole, AgentRole.agent_id == Agent.id)
        .where(AgentRole.role_id == role_id)
        .order_by(Agent.login)
    ).all()


def group_grants(
    session: Session, *, actor: Actor, group_id: int
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Who holds what on the group: (agent login → types, role name → types), direct grants only."""
    require_admin(session, actor)
    by_agent: dict[str, set[str]] = {}
    for login, permission in session.execute(
        select(Agent.login, AgentGroupPermission.permission)
        .join(AgentGroupPermission, AgentGroupPermission.agent_id == Agent.id)
        .where(AgentGroupPermission.group_id == group_id)
    ):
        by_agent.setdefault(login, set()).add(permission)
    by_role: dict[str, set[str]] = {}
    for name, permission in session.execute(
        select(Role.name, RoleGroupPermission.permission)
        .join(RoleGroupPermission, RoleGroupPermission.role_id == Role.id)
        .where(RoleGroupPermission.group_id == group_id)
    ):
        by_role.setdefault(name, set()).add(permission)
    return dict(sorted(by_agent.items())), dict(sorted(by_role.items()))
