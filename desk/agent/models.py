"""Agents, groups, roles, the permission links agent→group and role→group, API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from desk.customer.models import CustomerUser

# The OTRS permission types.  ``rw`` includes every other one.
PERMISSION_TYPES = ("ro", "move_into", "create", "note", "owner", "priority", "rw")
_PERMISSION_CHECK = "permission IN ('ro', 'move_into', 'create', 'note', 'owner', 'priority', 'rw')"


class Group(Base):
    """A set of queues (each queue belongs to one group) that agents get rights on."""

    __tablename__ = "agent_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    valid: Mapped[bool] = mapped_column(Boolean, default=True)


class Role(Base):
    """A bundle of group permissions, given to agents (consultant, authorizer, …)."""

    __tablename__ = "role"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    # A role can forbid its members to write to customers (consultant, authorizer).
    may_contact_customers: Mapped[bool] = mapped_column(Boolean, default=True)
    valid: Mapped[bool] = mapped_column(Boolean, default=True)


class Agent(Base):
    """A staff member who logs in to the web inbox."""

    __tablename__ = "agent"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(200), unique=True)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    may_contact_customers: Mapped[bool] = mapped_column(Boolean, default=True)
    # An observer reads what their groups allow and may change nothing at all.
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(String(10), default="en")
    # The IANA zone the agent's pages show times in (``Europe/Berlin``); checked with zoneinfo.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    roles: Mapped[list[Role]] = relationship(secondary="agent_role", lazy="selectin")

    @property
    def full_name(self) -> str:
        """First and last name, or the login when both are empty."""
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.login

    def __repr__(self) -> str:
        return f"<Agent {self.login}>"


class AgentRole(Base):
    """Membership of an agent in a role."""

    __tablename__ = "agent_role"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"), primary_key=True)


class AgentGroupPermission(Base):
    """A permission type an agent holds directly on a group."""

    __tablename__ = "agent_group_permission"
    __table_args__ = (CheckConstraint(_PERMISSION_CHECK, name="permission_type"),)

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("agent_group.id"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(20), primary_key=True)


class RoleGroupPermission(Base):
    """A permission type every member of a role holds on a group."""

    __tablename__ = "role_group_permission"
    __table_args__ = (CheckConstraint(_PERMISSION_CHECK, name="permission_type"),)

    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("agent_group.id"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(20), primary_key=True)


class ApiToken(Base):
    """A bearer token for the REST API; only its SHA-256 hash is stored.

    It belongs to exactly one agent or one customer user.
    """

    __tablename__ = "api_token"
    __table_args__ = (CheckConstraint("(agent_id IS NULL) <> (customer_user_id IS NULL)", name="one_owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"), index=True)
    customer_user_id: Mapped[int | None] = mapped_column(ForeignKey("customer_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    agent: Mapped[Agent | None] = relationship()
    customer_user: Mapped[CustomerUser | None] = relationship()


class AgentSession(Base):
    """One signed-in browser of an agent: the server-side half of the session cookie.

    The cookie carries a random token; only its SHA-256 hash is stored, so a copy of this
    table cannot be replayed as cookies.  A session ends when it is revoked (sign-out,
    "sign out everywhere", a password change), when it was idle too long or when it
    reached its absolute lifetime: every request checks all three.
    """

    __tablename__ = "agent_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # For the agent's own list of their sessions only; never used to decide anything.
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    agent: Mapped[Agent] = relationship()


class LoginLimitCounter(Base):
    """A counter of the login limiter in the database (a ``limits`` storage of our own).

    Used when no Redis is configured (the embedded mode) and while Redis is unreachable,
    so the limit is never off.  Fixed windows: a row counts ``hits`` until ``expires_at``.
    """

    __tablename__ = "login_limit_counter"

    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PasswordLink(Base):
    """A single-use link, mailed by an administrator, with which an agent chooses a password.

    Only the token's SHA-256 hash is stored; a link expires, and using it (or a newer link)
    ends it.
    """

    __tablename__ = "agent_password_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    agent: Mapped[Agent] = relationship()
