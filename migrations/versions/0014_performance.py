"""performance

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 12:30:00.000000

Performance (issue 16): the inbox reads ``human_task`` alone.  Each task carries copies of
its ticket's queue and escalation time (``engine.task_projection`` keeps them in step), and
a partial index over the open tasks serves the inbox's order, so a page is read off it.
Existing tasks get their copies here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("state = 'open'")


def upgrade() -> None:
    """The copies on human_task, filled in, and the inbox's index."""
    with op.batch_alter_table("human_task") as batch:
        batch.add_column(sa.Column("ticket_queue_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("escalation_due", core.db.UTCDateTime(timezone=True), nullable=True))
    # The same on both databases: correlated subqueries instead of UPDATE … FROM.
    op.execute(
        "UPDATE human_task SET"
        " ticket_queue_id = (SELECT ticket.queue_id FROM ticket WHERE ticket.id = human_task.ticket_id),"
        " escalation_due = (SELECT coalesce(ticket.first_response_due, ticket.update_due, ticket.solution_due)"
        " FROM ticket WHERE ticket.id = human_task.ticket_id)"
    )
    op.create_index(
        "ix_human_task_inbox",
        "human_task",
        ["escalation_due", "created_at", "id"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade() -> None:
    """Drop the index and the copies."""
    op.drop_index("ix_human_task_inbox", table_name="human_task")
    with op.batch_alter_table("human_task") as batch:
        batch.drop_column("escalation_due")
        batch.drop_column("ticket_queue_id")
