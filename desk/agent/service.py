"""Agents, groups, roles and permission grants; login and API tokens."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import Conflict, NotFound, ValidationError
from core.security import hash_password, hash_token, new_token, verify_password
from desk.actor import Actor
from desk.agent.models import (
    PERMISSION_TYPES,
    Agent,
    AgentGroupPermission,
    AgentRole,
    ApiToken,
    Group,
    Role,
    RoleGroupPermission,
)
from desk.customer.models import CustomerUser
from desk.permission.service import require_admin

MIN_PASSWORD = 8


def create_agent(
    session: Session,
    *,
    actor: Actor,
    login: str,
    password: str | None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    may_contact_customers: bool = True,
    read_only: bool = False,
    language: str = "en",
) -> Agent:
    """Create an agent (administrators only)."""
    require_admin(session, actor)
    login = login.strip()
    errors: dict[str, list[str]] = {}
    if not login or any(c.isspace() for c in login):
        errors["login"] = ["a login is one word"]
    if password is not None and len(password) < MIN_PASSWORD:
        errors["password"] = [f"at least {MIN_PASSWORD} characters"]
    if errors:
        raise ValidationError("invalid agent", errors=errors)
    if session.scalar(select(Agent.id).where(Agent.login == login)) is not None:
        raise Conflict(f"an agent with login {login!r} exists already")
    agent = Agent(
        login=login,
        password_hash=hash_password(password) if password else None,
        first_name=first_name,
        last_name=last_name,
        email=email,
        may_contact_customers=may_contact_customers,
        read_only=read_only,
        language=language,
    )
    session.add(agent)
    session.flush()
    return agent


def set_password(session: Session, *, actor: Actor, agent: Agent, password: str) -> None:
    """Set a new password (administrators, or the agent themself)."""
    if not (isinstance(actor, Agent) and actor.id == agent.id):
        require_admin(session, actor)
    if len(password) < MIN_PASSWORD:
        raise ValidationError(
            "invalid password", errors={"password": [f"at least {MIN_PASSWORD} characters"]}
        )
    agent.password_hash = hash_password(password)
    session.flush()


def get_agent(session: Session, *, login: str) -> Agent:
    """The agent with ``login``."""
    agent = session.scalar(select(Agent).where(Agent.login == login))
    if agent is None:
        raise NotFound(f"no agent with login {login!r}")
    return agent


def list_agents(session: Session) -> Sequence[Agent]:
    """All agents by login."""
    return session.scalars(select(Agent).order_by(Agent.login)).all()


def authenticate(session: Session, *, login: str, password: str) -> Agent | None:
    """The active agent with these credentials, else None (same cost either way)."""
    agent = session.scalar(select(Agent).where(Agent.login == login.strip()))
    ok = verify_password(agent.password_hash if agent else None, password)
    if agent is None or not ok or not agent.active:
        return None
    return agent


def create_group(session: Session, *, actor: Actor, name: str, comment: str = "") -> Group:
    """Create a group (administrators only)."""
    require_admin(session, actor)
    name = name.strip()
    if not name:
        raise ValidationError("invalid group", errors={"name": ["a group needs a name"]})
    if session.scalar(select(Group.id).where(Group.name == name)) is not None:
        raise Conflict(f"a group named {name!r} exists already")
    group = Group(name=name, comment=comment)
    session.add(group)
    session.flush()
    return group


def get_group(session: Session, *, name: str) -> Group:
    """The group called ``name``."""
    group = session.scalar(select(Group).where(Group.name == name))
    if group is None:
        raise NotFound(f"no group named {name!r}")
    return group


def create_role(session: Session, *, actor: Actor, name: str, may_contact_customers: bool = True) -> Role:
    """Create a role (administrators only)."""
    require_admin(session, actor)
    if session.scalar(select(Role.id).where(Role.name == name)) is not None:
        raise Conflict(f"a role named {name!r} exists already")
    role = Role(name=name, may_contact_customers=may_contact_customers)
    session.add(role)
    session.flush()
    return role


def _check_permissions(permissions: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(permissions))
    unknown = [p for p in wanted if p not in PERMISSION_TYPES]
    if unknown:
        raise ValidationError(
            "unknown permission type",
            errors={"permissions": [f"{p!r} is not one of {', '.join(PERMISSION_TYPES)}" for p in unknown]},
        )
    return wanted


def grant_group(
    session: Session, *, actor: Actor, agent: Agent, group: Group, permissions: Iterable[str]
) -> None:
    """Give ``agent`` the permission types on ``group`` (adds to what they have)."""
    require_admin(session, actor)
    for permission in _check_permissions(permissions):
        if session.get(AgentGroupPermission, (agent.id, group.id, permission)) is None:
            session.add(AgentGroupPermission(agent_id=agent.id, group_id=group.id, permission=permission))
    session.flush()


def grant_role_group(
    session: Session, *, actor: Actor, role: Role, group: Group, permissions: Iterable[str]
) -> None:
    """Give every member of ``role`` the permission types on ``group``."""
    require_admin(session, actor)
    for permission in _check_permissions(permissions):
        if session.get(RoleGroupPermission, (role.id, group.id, permission)) is None:
            session.add(RoleGroupPermission(role_id=role.id, group_id=group.id, permission=permission))
    session.flush()


def add_role(session: Session, *, actor: Actor, agent: Agent, role: Role) -> None:
    """Make ``agent`` a member of ``role``."""
    require_admin(session, actor)
    if session.get(AgentRole, (agent.id, role.id)) is None:
        session.add(AgentRole(agent_id=agent.id, role_id=role.id))
        session.flush()
        session.expire(agent, ["roles"])


def create_token(
    session: Session,
    *,
    actor: Actor,
    agent: Agent,
    name: str = "",
    expires_at: datetime | None = None,
) -> str:
    """Issue an API token for ``agent`` and return it; only its hash is kept."""
    if not (isinstance(actor, Agent) and actor.id == agent.id):
        require_admin(session, actor)
    token = new_token()
    session.add(ApiToken(agent_id=agent.id, token_hash=hash_token(token), name=name, expires_at=expires_at))
    session.flush()
    return token


def create_customer_token(
    session: Session,
    *,
    actor: Actor,
    customer: CustomerUser,
    name: str = "",
    expires_at: datetime | None = None,
) -> str:
    """Issue an API token for the customer user ``customer`` (administrators, or the customer
    themself) and return it; only its hash is kept."""
    if not (isinstance(actor, CustomerUser) and actor.id == customer.id):
        require_admin(session, actor)
    if not customer.valid:
        raise ValidationError("invalid customer", errors={"customer": [f"{customer.login} is not active"]})
    token = new_token()
    session.add(
        ApiToken(customer_user_id=customer.id, token_hash=hash_token(token), name=name, expires_at=expires_at)
    )
    session.flush()
    return token


def authenticate_token(session: Session, *, token: str) -> Agent | CustomerUser | None:
    """The active agent or valid customer user a valid, unexpired, unrevoked token belongs
    to, else None."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        return None
    owner: Agent | CustomerUser | None
    if row.agent is not None:
        owner = row.agent if row.agent.active else None
    else:
        customer = row.customer_user
        owner = customer if customer is not None and customer.valid else None
    if owner is None:
        return None
    row.last_used_at = now
    session.flush()
    return owner


def revoke_token(session: Session, *, actor: Actor, token_id: int) -> None:
    """Revoke a token (its owner or an administrator)."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound("no such token")
    own = (isinstance(actor, Agent) and actor.id == row.agent_id) or (
        isinstance(actor, CustomerUser) and actor.id == row.customer_user_id
    )
    if not own:
        require_admin(session, actor)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
