"""process designer: drafts and version metadata (issue 13)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 15:40:00.000000

A version gets the designer's change note; ``process_draft`` keeps one unsaved diagram per
process (the designer's work before a deploy).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``process_version.note`` and the ``process_draft`` table."""
    with op.batch_alter_table("process_version") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "process_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("bpmn_xml", sa.Text(), nullable=False),
        sa.Column("forms", sa.JSON(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["agent.id"], name=op.f("fk_process_draft_author_id_agent")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_draft")),
        sa.UniqueConstraint("process_id", name=op.f("uq_process_draft_process_id")),
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("process_draft")
    with op.batch_alter_table("process_version") as batch:
        batch.drop_column("note")
