"""Agents, groups, roles and permission grants; login, web sessions and API tokens."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, joinedload, lazyload

from core.db import utcnow
from core.errors import Conflict, FieldMessage, NotFound, ValidationError
from core.i18n import N_, time_zone_name
from core.security import hash_password, hash_token, new_token, verify_password
from desk.actor import Actor
from desk.agent.models import (
    PERMISSION_TYPES,
    Agent,
    AgentGroupPermission,
    AgentRole,
    AgentSession,
    ApiToken,
    Group,
    Role,
    RoleGroupPermission,
)
from desk.customer.models import CustomerUser
from desk.permission.service import require_admin

MIN_PASSWORD = 8

# "Last seen" is written at most this often, not on every request: the idle timeout is
# counted in minutes or hours, so a minute more or less does not matter.
SESSION_TOUCH_INTERVAL = timedelta(minutes=1)
# The same for an API token's "last used": a client polling the API must not turn every
# GET into a write (and a row lock on its token) just to move that time by seconds.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)


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
        errors["password"] = [FieldMessage(N_("at least %(num)s characters"), num=MIN_PASSWORD)]
    if errors:
        raise ValidationError("invalid agent", errors=errors)
    if session.scalar(select(Agent.id).where(Agent.login == login)) is not None:
        raise Conflict(N_("an agent with login %(login)r exists already"), login=login)
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
            N_("invalid password"),
            errors={"password": [FieldMessage(N_("at least %(num)s characters"), num=MIN_PASSWORD)]},
        )
    agent.password_hash = hash_password(password)
    # Whoever knew the old password may hold a session: a new password ends them all.
    _revoke(session, agent_id=agent.id)
    session.flush()


def set_time_zone(session: Session, *, actor: Actor, agent: Agent, time_zone: str) -> None:
    """Show ``agent``'s pages in ``time_zone`` (an IANA name); the agent or an administrator."""
    if not (isinstance(actor, Agent) and actor.id == agent.id):
        require_admin(session, actor)
    name = time_zone_name(time_zone.strip())
    if name is None:
        raise ValidationError(
            N_("unknown time zone"), errors={"time_zone": [N_("choose a time zone from the list")]}
        )
    agent.time_zone = name
    session.flush()


def get_agent(session: Session, *, login: str) -> Agent:
    """The agent with ``login``."""
    agent = session.scalar(select(Agent).where(Agent.login == login))
    if agent is None:
        raise NotFound(N_("no agent with login %(login)r"), login=login)
    return agent


def list_agents(session: Session, *, with_roles: bool = True) -> Sequence[Agent]:
    """All agents by login (``with_roles=False``: their roles are read only when touched)."""
    query = select(Agent).order_by(Agent.login)
    if not with_roles:
        query = query.options(lazyload(Agent.roles))
    return session.scalars(query).all()


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
        raise Conflict(N_("a group named %(name)r exists already"), name=name)
    group = Group(name=name, comment=comment)
    session.add(group)
    session.flush()
    return group


def get_group(session: Session, *, name: str) -> Group:
    """The group called ``name``."""
    group = session.scalar(select(Group).where(Group.name == name))
    if group is None:
        raise NotFound(N_("no group named %(name)r"), name=name)
    return group


def create_role(session: Session, *, actor: Actor, name: str, may_contact_customers: bool = True) -> Role:
    """Create a role (administrators only)."""
    require_admin(session, actor)
    if session.scalar(select(Role.id).where(Role.name == name)) is not None:
        raise Conflict(N_("a role named %(name)r exists already"), name=name)
    role = Role(name=name, may_contact_customers=may_contact_customers)
    session.add(role)
    session.flush()
    return role


def _check_permissions(permissions: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(permissions))
    unknown = [p for p in wanted if p not in PERMISSION_TYPES]
    if unknown:
        raise ValidationError(
            N_("unknown permission type"),
            errors={
                "permissions": [
                    FieldMessage(
                        N_("%(permission)r is not one of %(choices)s"),
                        permission=p,
                        choices=", ".join(PERMISSION_TYPES),
                    )
                    for p in unknown
                ]
            },
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
        raise ValidationError(
            N_("invalid customer"),
            errors={"customer": [FieldMessage(N_("%(login)s is not active"), login=customer.login)]},
        )
    token = new_token()
    session.add(
        ApiToken(customer_user_id=customer.id, token_hash=hash_token(token), name=name, expires_at=expires_at)
    )
    session.flush()
    return token


def authenticate_token(session: Session, *, token: str) -> Agent | CustomerUser | None:
    """The active agent or valid customer user a valid, unexpired, unrevoked token belongs
    to, else None."""
    # The token with its owner (an agent's roles included) in one statement: every API call asks.
    row = (
        session.scalars(
            select(ApiToken)
            .where(ApiToken.token_hash == hash_token(token))
            .options(joinedload(ApiToken.agent).joinedload(Agent.roles), joinedload(ApiToken.customer_user))
        )
        .unique()
        .first()
    )
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
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_TOUCH_INTERVAL:
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


def start_session(
    session: Session, *, agent: Agent, lifetime: timedelta, address: str = "", user_agent: str = ""
) -> tuple[AgentSession, str]:
    """Open a web session for ``agent`` who just signed in; returns it and its token.

    The token goes into the (signed) cookie and is never stored: only its hash is.  The
    agent's ended sessions are cleared out here, so the table does not grow for ever.
    """
    now = utcnow()
    session.execute(
        delete(AgentSession).where(
            AgentSession.agent_id == agent.id,
            or_(AgentSession.revoked_at.is_not(None), AgentSession.created_at < now - lifetime),
        )
    )
    token = new_token()
    row = AgentSession(
        token_hash=hash_token(token),
        agent_id=agent.id,
        created_at=now,
        last_seen_at=now,
        address=address[:64],
        user_agent=user_agent[:300],
    )
    session.add(row)
    session.flush()
    return row, token


def find_session(
    session: Session, *, token: str, idle: timedelta, lifetime: timedelta
) -> AgentSession | None:
    """The live session with ``token``, else None (unknown, revoked, idle or too old).

    A session found ends up "seen now", written at most once per
    :data:`SESSION_TOUCH_INTERVAL`.  An idle or too old one is revoked on the spot.
    """
    # The session, its agent and the agent's roles in one statement: every request asks.
    row = (
        session.scalars(
            select(AgentSession)
            .where(AgentSession.token_hash == hash_token(token))
            .options(joinedload(AgentSession.agent).joinedload(Agent.roles))
        )
        .unique()
        .first()
    )
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if now - row.last_seen_at > idle or now - row.created_at > lifetime:
        row.revoked_at = now
        session.flush()
        return None
    if now - row.last_seen_at >= SESSION_TOUCH_INTERVAL:
        row.last_seen_at = now
        session.flush()
    return row


def end_session(session: Session, *, agent_session: AgentSession) -> None:
    """Sign one browser out: its cookie opens nothing any more."""
    if agent_session.revoked_at is None:
        agent_session.revoked_at = utcnow()
        session.flush()


def end_all_sessions(session: Session, *, actor: Actor, agent: Agent) -> int:
    """Sign ``agent`` out everywhere (the agent themself or an administrator).

    Returns how many live sessions were ended.
    """
    if not (isinstance(actor, Agent) and actor.id == agent.id):
        require_admin(session, actor)
    ended = _revoke(session, agent_id=agent.id)
    session.flush()
    return ended


def list_sessions(
    session: Session, *, agent: Agent, idle: timedelta, lifetime: timedelta
) -> Sequence[AgentSession]:
    """The agent's live sessions, the most recently used first."""
    now = utcnow()
    return session.scalars(
        select(AgentSession)
        .where(
            AgentSession.agent_id == agent.id,
            AgentSession.revoked_at.is_(None),
            AgentSession.last_seen_at >= now - idle,
            AgentSession.created_at >= now - lifetime,
        )
        .order_by(AgentSession.last_seen_at.desc(), AgentSession.id.desc())
    ).all()


def _revoke(session: Session, *, agent_id: int) -> int:
    result = session.execute(
        update(AgentSession)
        .where(AgentSession.agent_id == agent_id, AgentSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    # An UPDATE's result is a CursorResult, which has the count (Result's type does not).
    return int(getattr(result, "rowcount", 0))
