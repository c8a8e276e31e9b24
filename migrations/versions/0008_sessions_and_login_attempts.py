"""server-side sessions and login attempts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 10:40:00.000000

``agent_session``: one row per signed-in browser (the cookie carries a random token, the
row its SHA-256 hash), so sign-out, "sign out everywhere" and a password change end
sessions on the server.  ``login_limit_counter``: the login limiter's counters in the
database, used without Redis and while Redis is unreachable.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("revoked_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], name=op.f("fk_agent_session_agent_id_agent")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_agent_session_token_hash")),
    )
    with op.batch_alter_table("agent_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_session_agent_id"), ["agent_id"], unique=False)

    op.create_table(
        "login_limit_counter",
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_limit_counter")),
    )
    with op.batch_alter_table("login_limit_counter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_limit_counter_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_limit_counter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_limit_counter_expires_at"))
    op.drop_table("login_limit_counter")
    with op.batch_alter_table("agent_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_session_agent_id"))
    op.drop_table("agent_session")
