"""calendars and service levels

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 13:00:00.000000

Business calendars (working week, time zone, public holidays by country and region, custom
days) and service levels (first response, update and solution targets in working minutes)
for escalations, and the weekly statistics mail's subscribers (issue 14).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the calendar and service-level tables."""
    op.create_table(
        "business_calendar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("week", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=8), nullable=True),
        sa.Column("subdivision", sa.String(length=16), nullable=True),
        sa.Column("extra_holidays", sa.Text(), nullable=False),
        sa.Column("extra_working_days", sa.Text(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_calendar")),
        sa.UniqueConstraint("name", name=op.f("uq_business_calendar_name")),
    )
    op.create_table(
        "service_level",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=True),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("update_minutes", sa.Integer(), nullable=False),
        sa.Column("solution_minutes", sa.Integer(), nullable=False),
        sa.Column("notify_before_percent", sa.Integer(), nullable=False),
        sa.Column("pause_while_pending", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "notify_before_percent BETWEEN 0 AND 100", name=op.f("ck_service_level_notify_before_percent")
        ),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["business_calendar.id"],
            name=op.f("fk_service_level_calendar_id_business_calendar"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_level")),
        sa.UniqueConstraint("name", name=op.f("uq_service_level_name")),
    )

    with op.batch_alter_table("queue") as batch:
        batch.add_column(sa.Column("service_level_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_queue_service_level_id_service_level"), "service_level", ["service_level_id"], ["id"]
        )
    with op.batch_alter_table("customer_company") as batch:
        batch.add_column(sa.Column("service_level_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_customer_company_service_level_id_service_level"),
            "service_level",
            ["service_level_id"],
            ["id"],
        )
    # The ticket table is guarded by triggers: plain ADD COLUMNs (no table rebuild on SQLite,
    # which would drop them).
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with a foreign key only inline (alembic would rebuild the table).
        op.execute(
            "ALTER TABLE ticket ADD COLUMN service_level_id INTEGER "
            "CONSTRAINT fk_ticket_service_level_id_service_level REFERENCES service_level (id)"
        )
    else:
        op.add_column("ticket", sa.Column("service_level_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_ticket_service_level_id_service_level"),
            "ticket",
            "service_level",
            ["service_level_id"],
            ["id"],
        )
    op.add_column("ticket", sa.Column("escalation_paused_since", core.db.UTCDateTime(timezone=True)))
    op.add_column(
        "ticket",
        sa.Column("escalation_paused_minutes", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("ticket", sa.Column("escalation_next_event_at", core.db.UTCDateTime(timezone=True)))
    op.add_column("ticket", sa.Column("escalation_notified", sa.Text(), nullable=False, server_default=""))
    op.add_column("ticket", sa.Column("escalation_computed_at", core.db.UTCDateTime(timezone=True)))
    op.create_index(op.f("ix_ticket_escalation_next_event_at"), "ticket", ["escalation_next_event_at"])
    op.create_table(
        "report_subscription",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_report_subscription_agent_id_agent")
        ),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_report_subscription")),
    )


def downgrade() -> None:
    """Drop the calendar and service-level tables."""
    op.drop_table("report_subscription")
    op.drop_index(op.f("ix_ticket_escalation_next_event_at"), table_name="ticket")
    for column in (
        "escalation_computed_at",
        "escalation_notified",
        "escalation_next_event_at",
        "escalation_paused_minutes",
        "escalation_paused_since",
    ):
        op.drop_column("ticket", column)
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_ticket_service_level_id_service_level"), "ticket", type_="foreignkey")
    op.drop_column("ticket", "service_level_id")
    with op.batch_alter_table("customer_company") as batch:
        batch.drop_constraint(op.f("fk_customer_company_service_level_id_service_level"), type_="foreignkey")
        batch.drop_column("service_level_id")
    with op.batch_alter_table("queue") as batch:
        batch.drop_constraint(op.f("fk_queue_service_level_id_service_level"), type_="foreignkey")
        batch.drop_column("service_level_id")
    op.drop_table("service_level")
    op.drop_table("business_calendar")
