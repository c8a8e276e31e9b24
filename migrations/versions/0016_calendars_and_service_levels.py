"""calendars and service levels

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 13:00:00.000000

Business calendars (working week, time zone, public holidays by country and region, custom
days) and service levels (first response, update and solution targets in working minutes)
for escalations (issue 14).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

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


def downgrade() -> None:
    """Drop the calendar and service-level tables."""
    op.drop_table("service_level")
    op.drop_table("business_calendar")
