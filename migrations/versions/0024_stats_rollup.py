"""stats rollup

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01 19:00:00.000000

Statistics at scale (issue 14): each ticket stores the moment of its first customer-visible
agent answer and of its first close (``ticket.first_response_at``, ``ticket.first_closed_at``),
written by the use cases when they happen (``desk.ticket.firsts``) and backfilled here from the
articles and the history, in batches of tickets.  The response-and-solution figure then reads
the ticket table only.  Indexes for the other figures: the ticket's creation time (the range
of every ticket figure) and the history by type and time (closes per day, escalations).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5_000

# The definitions the figure used before the columns existed (reports.figures, migration 0023):
# the first article an agent wrote that the customer sees, the first history row that set a
# state of type "closed".
FIRST_RESPONSE = (
    "SELECT min(a.created_at) FROM article a WHERE a.ticket_id = ticket.id "
    "AND a.sender_type = 'agent' AND a.is_visible_for_customer = :yes"
)
FIRST_CLOSE = (
    "SELECT min(h.created_at) FROM ticket_history h "
    "JOIN ticket_state s ON s.name = h.new_value AND s.type = 'closed' "
    "WHERE h.ticket_id = ticket.id AND h.type = 'StateUpdate'"
)


def upgrade() -> None:
    """Add the two columns, fill them batch by batch, then add the indexes."""
    bind = op.get_bind()
    # The ticket table is guarded by triggers (migration 0009): plain ADD COLUMN, no rebuild.
    op.add_column("ticket", sa.Column("first_response_at", core.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column("ticket", sa.Column("first_closed_at", core.db.UTCDateTime(timezone=True), nullable=True))
    highest = bind.execute(sa.text("SELECT coalesce(max(id), 0) FROM ticket")).scalar_one()
    for low in range(0, int(highest) + 1, BATCH):
        # A statement per batch of tickets: each reads its tickets' articles and history by
        # the ticket_id indexes, and memory stays flat however long the history is.
        backfill(bind, low=low, high=low + BATCH)
    # The indexes after the backfill: its history lookups go by ticket, and a planner without
    # fresh statistics must not be tempted to read every state change by type per ticket.
    op.create_index(op.f("ix_ticket_created_at"), "ticket", ["created_at"])
    op.create_index("ix_ticket_history_type_created_at", "ticket_history", ["type", "created_at"])


def backfill(bind: sa.Connection, *, low: int, high: int) -> None:
    """Set both moments of the tickets ``low < id <= high`` from their articles and history."""
    bind.execute(
        sa.text(
            f"UPDATE ticket SET first_response_at = ({FIRST_RESPONSE}), "  # noqa: S608 (constants)
            f"first_closed_at = ({FIRST_CLOSE}) WHERE ticket.id > :low AND ticket.id <= :high"
        ),
        {"yes": True, "low": low, "high": high},
    )


def downgrade() -> None:
    """Drop the indexes and the columns."""
    op.drop_index("ix_ticket_history_type_created_at", table_name="ticket_history")
    op.drop_index(op.f("ix_ticket_created_at"), table_name="ticket")
    op.drop_column("ticket", "first_closed_at")
    op.drop_column("ticket", "first_response_at")
