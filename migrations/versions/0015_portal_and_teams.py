"""portal and teams

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 12:30:00.000000

Customer portal, problems and availability (issue 15).

``customer_session``: one row per browser signed in to the portal (the cookie carries a
random token, the row its SHA-256 hash), separate from ``agent_session``.
``customer_sign_in_link``: one-time sign-in links mailed to customers (hashed, expiring,
single use).
``problem_message`` and ``problem_recipient``: a message written on a problem ticket and the
incident (and its e-mail article) it went to, per reporter (S9).
``agent_availability`` (front line, background, away until) and ``temporary_membership``
(an agent pulled into a queue's group until a time or a load threshold) (S11).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the portal's, the problems' tables."""
    op.create_table(
        "customer_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("customer_user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_user_id"],
            ["customer_user.id"],
            name=op.f("fk_customer_session_customer_user_id_customer_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_customer_session_token_hash")),
    )
    with op.batch_alter_table("customer_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_session_customer_user_id"), ["customer_user_id"], unique=False
        )

    op.create_table(
        "customer_sign_in_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("customer_user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_user_id"],
            ["customer_user.id"],
            name=op.f("fk_customer_sign_in_link_customer_user_id_customer_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_sign_in_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_customer_sign_in_link_token_hash")),
    )
    with op.batch_alter_table("customer_sign_in_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_sign_in_link_customer_user_id"), ["customer_user_id"], unique=False
        )

    op.create_table(
        "problem_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem_ticket_id", sa.Integer(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("created_by_agent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_agent_id"], ["agent.id"], name=op.f("fk_problem_message_created_by_agent_id_agent")
        ),
        sa.ForeignKeyConstraint(
            ["problem_ticket_id"], ["ticket.id"], name=op.f("fk_problem_message_problem_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_message")),
    )
    with op.batch_alter_table("problem_message", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_problem_message_problem_ticket_id"), ["problem_ticket_id"], unique=False
        )

    op.create_table(
        "problem_recipient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem_message_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"], ["article.id"], name=op.f("fk_problem_recipient_article_id_article")
        ),
        sa.ForeignKeyConstraint(
            ["problem_message_id"],
            ["problem_message.id"],
            name=op.f("fk_problem_recipient_problem_message_id_problem_message"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_problem_recipient_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_recipient")),
        sa.UniqueConstraint(
            "problem_message_id", "ticket_id", name=op.f("uq_problem_recipient_problem_message_id")
        ),
    )
    with op.batch_alter_table("problem_recipient", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_problem_recipient_problem_message_id"), ["problem_message_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_problem_recipient_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "agent_availability",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("until", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("changed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('front_line', 'background', 'away')", name=op.f("ck_agent_availability_status")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_agent_availability_agent_id_agent")
        ),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_agent_availability")),
    )

    op.create_table(
        "temporary_membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("until", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("open_below", sa.Integer(), nullable=True),
        sa.Column("created_by_agent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "until IS NOT NULL OR open_below IS NOT NULL", name=op.f("ck_temporary_membership_has_end")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_temporary_membership_agent_id_agent")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_agent_id"],
            ["agent.id"],
            name=op.f("fk_temporary_membership_created_by_agent_id_agent"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["agent_group.id"], name=op.f("fk_temporary_membership_group_id_agent_group")
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queue.id"], name=op.f("fk_temporary_membership_queue_id_queue")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_temporary_membership")),
    )
    with op.batch_alter_table("temporary_membership", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_temporary_membership_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_temporary_membership_ended_at"), ["ended_at"], unique=False)


def downgrade() -> None:
    """Drop the portal's, the problems' and the teams' tables."""
    with op.batch_alter_table("temporary_membership", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_temporary_membership_ended_at"))
        batch_op.drop_index(batch_op.f("ix_temporary_membership_agent_id"))
    op.drop_table("temporary_membership")
    op.drop_table("agent_availability")
    with op.batch_alter_table("problem_recipient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_problem_recipient_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_problem_recipient_problem_message_id"))
    op.drop_table("problem_recipient")
    with op.batch_alter_table("problem_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_problem_message_problem_ticket_id"))
    op.drop_table("problem_message")
    with op.batch_alter_table("customer_sign_in_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_sign_in_link_customer_user_id"))
    op.drop_table("customer_sign_in_link")
    with op.batch_alter_table("customer_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_session_customer_user_id"))
    op.drop_table("customer_session")
