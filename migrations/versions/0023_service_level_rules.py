"""service level rules

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01 19:00:00.000000

Service-level rules (issue 14): an ordered list of "tickets matching these conditions
(queue, priorities, types, service, customer company, first channel, customer mail domain)
follow that level", consulted after the ticket's own level and before its service's,
company's and queue's (see ``desk.sla.rules``).  A new table only; the same on PostgreSQL and
SQLite.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``service_level_rule``."""
    op.create_table(
        "service_level_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level_id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=True),
        sa.Column("include_subqueues", sa.Boolean(), nullable=False),
        sa.Column("priorities", sa.String(length=20), nullable=False),
        sa.Column("type_ids", sa.Text(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("customer_company_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("email_domain", sa.String(length=255), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["level_id"], ["service_level.id"], name=op.f("fk_service_level_rule_level_id_service_level")
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queue.id"], name=op.f("fk_service_level_rule_queue_id_queue")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_service_level_rule_service_id_service")
        ),
        sa.ForeignKeyConstraint(
            ["customer_company_id"],
            ["customer_company.id"],
            name=op.f("fk_service_level_rule_customer_company_id_customer_company"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["agent.id"], name=op.f("fk_service_level_rule_created_by_id_agent")
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_id"], ["agent.id"], name=op.f("fk_service_level_rule_changed_by_id_agent")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_level_rule")),
        sa.UniqueConstraint("name", name=op.f("uq_service_level_rule_name")),
    )
    op.create_index(op.f("ix_service_level_rule_position"), "service_level_rule", ["position"])


def downgrade() -> None:
    """Drop ``service_level_rule``."""
    op.drop_index(op.f("ix_service_level_rule_position"), table_name="service_level_rule")
    op.drop_table("service_level_rule")
