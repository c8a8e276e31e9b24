"""admin texts and queues

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:30:00.000000

Admin texts, queues, states, system addresses (issue 11).

``queue.display_name`` is the name customers see in From: ("Acme Support <support@…>");
``queue.process_id`` names the process new tickets of the queue start (the newest deployed
version; none: the default process).  ``text_variant`` holds the per-language variants (de,
ru, hu, en) of templates, salutations, signatures and automatic answers, one row per text
and language; the text itself stays the default.  ``ticket_priority`` holds an
administrator's names for the priorities 1–5 (no row: the built-in translated name).

Adding nullable columns needs no table rebuild on SQLite (plain ``ADD COLUMN``), so the
queue keeps whatever triggers it has.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Queue display name and process; the text variants and priority names tables."""
    op.add_column("queue", sa.Column("display_name", sa.String(length=200), nullable=True))
    op.add_column("queue", sa.Column("process_id", sa.String(length=255), nullable=True))
    op.create_table(
        "text_variant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_type", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "owner_type IN ('template', 'salutation', 'signature', 'auto_response')",
            name=op.f("ck_text_variant_owner_type"),
        ),
        sa.CheckConstraint("language IN ('en', 'de', 'ru', 'hu')", name=op.f("ck_text_variant_language")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_variant")),
        sa.UniqueConstraint("owner_type", "owner_id", "language", name="uq_text_variant_owner_language"),
    )
    op.create_table(
        "ticket_priority",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.CheckConstraint("id BETWEEN 1 AND 5", name=op.f("ck_ticket_priority_priority_id_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_priority")),
    )


def downgrade() -> None:
    """Drop the variants and the queue columns."""
    op.drop_table("ticket_priority")
    op.drop_table("text_variant")
    with op.batch_alter_table("queue", schema=None) as batch_op:
        batch_op.drop_column("process_id")
        batch_op.drop_column("display_name")
