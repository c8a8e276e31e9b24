"""agent's day: saved views, read markers, preferences (issue 12)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 15:40:00.000000

Which tickets each agent has read up to which article (the unread markers of the lists) and
the agents' saved searches and inbox views.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``agent_ticket_seen`` and ``saved_view``."""
    op.create_table(
        "agent_ticket_seen",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("last_article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], name=op.f("fk_agent_ticket_seen_agent_id_agent")),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_agent_ticket_seen_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("agent_id", "ticket_id", name=op.f("pk_agent_ticket_seen")),
    )
    op.create_index(op.f("ix_agent_ticket_seen_ticket_id"), "agent_ticket_seen", ["ticket_id"])
    op.create_table(
        "saved_view",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('inbox', 'search')", name=op.f("ck_saved_view_kind")),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], name=op.f("fk_saved_view_agent_id_agent")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_view")),
        sa.UniqueConstraint("agent_id", "kind", "name", name=op.f("uq_saved_view_agent_id")),
    )
    op.create_index(op.f("ix_saved_view_agent_id"), "saved_view", ["agent_id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index(op.f("ix_saved_view_agent_id"), table_name="saved_view")
    op.drop_table("saved_view")
    op.drop_index(op.f("ix_agent_ticket_seen_ticket_id"), table_name="agent_ticket_seen")
    op.drop_table("agent_ticket_seen")
