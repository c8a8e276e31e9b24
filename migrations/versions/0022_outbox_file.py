"""outbox file

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 17:30:00.000000

A mail without an article (the weekly statistics mail) may carry one file: its name and the
blob holding its bytes, so every delivery attempt sends the same file (issue 14).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the file columns to the outbox."""
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("file_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("file_sha256", sa.String(length=64), nullable=True))
        batch.create_foreign_key("fk_outbox_message_file_sha256_blob", "blob", ["file_sha256"], ["sha256"])


def downgrade() -> None:
    """Drop the file columns."""
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_constraint("fk_outbox_message_file_sha256_blob", type_="foreignkey")
        batch.drop_column("file_sha256")
        batch.drop_column("file_name")
