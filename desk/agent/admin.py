"""Agent administration: the list, create, edit, (de)activate, passwords and API tokens.

Every function checks :func:`desk.permission.service.require_admin` first, validates, changes,
records one audit entry (only the changed fields) and flushes.  The admin pages, the API and
the ``ticketflow user`` commands call these same functions.  Agents are never deleted: their
history stays attributed to them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.errors import FieldMessage, NotFound, ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.agent import service as agents
from desk.agent.models import Agent, AgentGroupPermission, AgentRole, ApiToken, RoleGroupPermission
from desk.audit import service as audit
from desk.permission.service import require_admin

LANGUAGES = ("en", "de", "ru", "hu")
PAGE_SIZE = 25
# The editable fields, in the order the form and the audit trail show them.
FIELDS = ("first_name", "last_name", "email", "language", "may_contact_customers", "read_only")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Ids are 32-bit: a bigger number from a URL cannot exist (and would fail the query).
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class AgentPage:
    """One page of the agent list."""

    agents: Sequence[Agent]
    page: int
    has_next: bool


@dataclass(frozen=True)
class BulkResult:
    """What a bulk action did to one agent."""

    agent_id: int
    login: str
    outcome: str  # "changed", "unchanged", "refused", "not_found"
    message: str = ""


def _snapshot(agent: Agent) -> dict[str, object]:
    return {name: getattr(agent, name) for name in FIELDS}


def _validate(values: dict[str, object]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    email = str(values.get("email", "") or "")
    if email and not _EMAIL.match(email):
        errors["email"] = ["not an e-mail address"]
    if values.get("language", "en") not in LANGUAGES:
        errors["language"] = [FieldMessage(N_("one of %(choices)s"), choices=", ".join(LANGUAGES))]
    for name in ("first_name", "last_name"):
        if len(str(values.get(name, "") or "")) > 200:
            errors[name] = ["at most 200 characters"]
    return errors


def get(session: Session, *, actor: Actor, agent_id: int) -> Agent:
    """The agent with ``agent_id`` (administrators only)."""
    require_admin(session, actor)
    agent = session.get(Agent, agent_id) if 0 < agent_id <= MAX_ID else None
    if agent is None:
        raise NotFound("no such agent")
    return agent


def search(
    session: Session,
    *,
    actor: Actor,
    text: str = "",
    active: bool | None = None,
    role_id: int | None = None,
    group_id: int | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> AgentPage:
    """Agents matching ``text`` (login, name, e-mail) and the filters, by login, one page."""
    require_admin(session, actor)
    query = select(Agent)
    text = text.strip()
    if text:
        pattern = f"%{text.lower()}%"
        query = query.where(
            or_(
                func.lower(Agent.login).like(pattern),
                func.lower(Agent.first_name).like(pattern),
                func.lower(Agent.last_name).like(pattern),
                func.lower(Agent.email).like(pattern),
            )
        )
    if active is not None:
        query = query.where(Agent.active.is_(active))
    if role_id is not None:
        query = query.where(Agent.id.in_(select(AgentRole.agent_id).where(AgentRole.role_id == role_id)))
    if group_id is not None:
        direct = select(AgentGroupPermission.agent_id).where(AgentGroupPermission.group_id == group_id)
        via_role = (
            select(AgentRole.agent_id)
            .join(RoleGroupPermission, RoleGroupPermission.role_id == AgentRole.role_id)
            .where(RoleGroupPermission.group_id == group_id)
        )
        query = query.where(or_(Agent.id.in_(direct), Agent.id.in_(via_role)))
    page = max(page, 1)
    rows = session.scalars(
        query.order_by(Agent.login).offset((page - 1) * page_size).limit(page_size + 1)
    ).all()
    return AgentPage(agents=rows[:page_size], page=page, has_next=len(rows) > page_size)


def count_active(session: Session, *, actor: Actor) -> int:
    """How many agents may sign in."""
    require_admin(session, actor)
    return session.scalar(select(func.count()).select_from(Agent).where(Agent.active.is_(True))) or 0


def create(
    session: Session,
    *,
    actor: Actor,
    login: str,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    language: str = "en",
    may_contact_customers: bool = True,
    read_only: bool = False,
) -> Agent:
    """Create an agent; without a password they cannot sign in until one is set."""
    require_admin(session, actor)
    values: dict[str, object] = {
        "first_name": first_name.strip(),
        "last_name": last_name.strip(),
        "email": email.strip(),
        "language": language,
        "may_contact_customers": may_contact_customers,
        "read_only": read_only,
    }
    errors = _validate(values)
    login = login.strip()
    if not login or any(c.isspace() for c in login) or len(login) > 200:
        errors["login"] = ["a login is one word (at most 200 characters)"]
    if password and len(password) < agents.MIN_PASSWORD:
        errors["password"] = [FieldMessage(N_("at least %(num)s characters"), num=agents.MIN_PASSWORD)]
    if login and session.scalar(select(Agent.id).where(Agent.login == login)) is not None:
        errors["login"] = [FieldMessage(N_("an agent with login %(login)r exists already"), login=login)]
    if errors:
        raise ValidationError("invalid agent", errors=errors)
    agent = agents.create_agent(
        session,
        actor=actor,
        login=login,
        password=password or None,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email.strip(),
        language=language,
        may_contact_customers=may_contact_customers,
        read_only=read_only,
    )
    audit.record(
        session,
        actor=actor,
        object_type="agent",
        object_id=agent.id,
        object_label=agent.login,
        action="create",
        new={"login": agent.login, **_snapshot(agent), "password_set": agent.password_hash is not None},
    )
    return agent


def update(session: Session, *, actor: Actor, agent_id: int, **values: object) -> Agent:
    """Change the given fields of :data:`FIELDS`; records only what changed."""
    agent = get(session, actor=actor, agent_id=agent_id)
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ValidationError("unknown fields", errors={name: ["not an agent field"] for name in unknown})
    merged = {**_snapshot(agent), **{k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}}
    errors = _validate(merged)
    if errors:
        raise ValidationError("invalid agent", errors=errors)
    before = _snapshot(agent)
    for name, value in merged.items():
        setattr(agent, name, value)
    old, new = audit.changes(before, _snapshot(agent))
    if new:
        audit.record(
            session,
            actor=actor,
            object_type="agent",
            object_id=agent.id,
            object_label=agent.login,
            action="update",
            old=old,
            new=new,
        )
    session.flush()
    return agent


def set_active(session: Session, *, actor: Actor, agent_id: int, active: bool) -> bool:
    """Deactivate (signing them out everywhere) or reactivate; True when it changed."""
    agent = get(session, actor=actor, agent_id=agent_id)
    if not active and isinstance(actor, Agent) and actor.id == agent.id:
        raise ValidationError("refused", errors={"active": ["you cannot deactivate yourself"]})
    if agent.active == active:
        return False
    agent.active = active
    if not active:
        # A deactivated agent's open browsers must not keep working until they expire.
        agents.end_all_sessions(session, actor=actor, agent=agent)
    audit.record(
        session,
        actor=actor,
        object_type="agent",
        object_id=agent.id,
        object_label=agent.login,
        action="reactivate" if active else "deactivate",
        old={"active": not active},
        new={"active": active},
    )
    session.flush()
    return True


def bulk_set_active(
    session: Session, *, actor: Actor, agent_ids: Iterable[int], active: bool
) -> list[BulkResult]:
    """(De)activate several agents; one result per agent, a refusal does not stop the rest."""
    require_admin(session, actor)
    results: list[BulkResult] = []
    for agent_id in dict.fromkeys(agent_ids):
        agent = session.get(Agent, agent_id) if 0 < agent_id <= MAX_ID else None
        if agent is None:
            results.append(BulkResult(agent_id, "", "not_found", "no such agent"))
            continue
        try:
            with session.begin_nested():
                changed = set_active(session, actor=actor, agent_id=agent_id, active=active)
        except ValidationError as exc:
            message = "; ".join(m for ms in exc.errors.values() for m in ms) or exc.message
            results.append(BulkResult(agent_id, agent.login, "refused", message))
            continue
        results.append(BulkResult(agent_id, agent.login, "changed" if changed else "unchanged"))
    return results


def set_password(session: Session, *, actor: Actor, agent_id: int, password: str) -> None:
    """Set a new password (argon2); every session of the agent ends."""
    agent = get(session, actor=actor, agent_id=agent_id)
    agents.set_password(session, actor=actor, agent=agent, password=password)
    audit.record(
        session,
        actor=actor,
        object_type="agent",
        object_id=agent.id,
        object_label=agent.login,
        action="set_password",
        # Never the hash: the trail says only that it changed.
        new={"password": "changed"},
    )


def tokens(session: Session, *, actor: Actor, agent_id: int) -> Sequence[ApiToken]:
    """The agent's API tokens, newest first (hashes only; the tokens themselves are gone)."""
    agent = get(session, actor=actor, agent_id=agent_id)
    return session.scalars(
        select(ApiToken).where(ApiToken.agent_id == agent.id).order_by(ApiToken.id.desc())
    ).all()


def revoke_token(session: Session, *, actor: Actor, agent_id: int, token_id: int) -> None:
    """Revoke one of the agent's API tokens."""
    agent = get(session, actor=actor, agent_id=agent_id)
    row = session.get(ApiToken, token_id) if 0 < token_id <= MAX_ID else None
    if row is None or row.agent_id != agent.id:
        raise NotFound("no such token")
    if row.revoked_at is not None:
        return
    agents.revoke_token(session, actor=actor, token_id=token_id)
    audit.record(
        session,
        actor=actor,
        object_type="agent",
        object_id=agent.id,
        object_label=agent.login,
        action="revoke_token",
        old={"token": row.name or f"#{row.id}"},
    )
