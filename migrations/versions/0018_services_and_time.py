"""services, time accounting and in-app notifications (issue 14)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 15:40:00.000000

Time accounting: the minutes agents book with an answer, a note or a task completion (OTRS's
``time_accounting`` table) and each queue's policy for asking (off, optional, required).
Services (OTRS's ``service`` table) with their service level, and the ticket's service.
In-app notifications for agents (escalations, assignments, customer answers).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the queue's time-accounting policy and the time_accounting table."""
    with op.batch_alter_table("queue") as batch:
        batch.add_column(
            sa.Column("time_accounting", sa.String(length=10), nullable=False, server_default="off")
        )
        batch.create_check_constraint(
            op.f("ck_queue_time_accounting"), "time_accounting IN ('off', 'optional', 'required')"
        )
    op.create_table(
        "time_accounting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("human_task_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("minutes BETWEEN 0 AND 10080", name=op.f("ck_time_accounting_minutes")),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], name=op.f("fk_time_accounting_agent_id_agent")),
        sa.ForeignKeyConstraint(
            ["article_id"], ["article.id"], name=op.f("fk_time_accounting_article_id_article")
        ),
        sa.ForeignKeyConstraint(
            ["human_task_id"], ["human_task.id"], name=op.f("fk_time_accounting_human_task_id_human_task")
        ),
        sa.ForeignKeyConstraint(["queue_id"], ["queue.id"], name=op.f("fk_time_accounting_queue_id_queue")),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_time_accounting_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_accounting")),
    )
    op.create_index(op.f("ix_time_accounting_ticket_id"), "time_accounting", ["ticket_id"])
    op.create_index("ix_time_accounting_created_at_agent_id", "time_accounting", ["created_at", "agent_id"])
    op.create_table(
        "service",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("service_level_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["service.id"], name=op.f("fk_service_parent_id_service")),
        sa.ForeignKeyConstraint(
            ["service_level_id"], ["service_level.id"], name=op.f("fk_service_service_level_id_service_level")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service")),
        sa.UniqueConstraint("name", name=op.f("uq_service_name")),
    )
    # The ticket table is guarded by triggers: a plain ADD COLUMN (no table rebuild on SQLite,
    # which would drop them), the foreign key inline there.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE ticket ADD COLUMN service_id INTEGER "
            "CONSTRAINT fk_ticket_service_id_service REFERENCES service (id)"
        )
    else:
        op.add_column("ticket", sa.Column("service_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_ticket_service_id_service"), "ticket", "service", ["service_id"], ["id"]
        )

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], name=op.f("fk_notification_agent_id_agent")),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_notification_ticket_id_ticket")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    op.create_index("ix_notification_agent_id_read_at", "notification", ["agent_id", "read_at"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_notification_agent_id_read_at", table_name="notification")
    op.drop_table("notification")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_ticket_service_id_service"), "ticket", type_="foreignkey")
    op.drop_column("ticket", "service_id")
    op.drop_table("service")
    op.drop_index("ix_time_accounting_created_at_agent_id", table_name="time_accounting")
    op.drop_index(op.f("ix_time_accounting_ticket_id"), table_name="time_accounting")
    op.drop_table("time_accounting")
    with op.batch_alter_table("queue") as batch:
        batch.drop_constraint(op.f("ck_queue_time_accounting"), type_="check")
        batch.drop_column("time_accounting")
