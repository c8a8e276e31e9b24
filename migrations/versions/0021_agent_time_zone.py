"""agent time zone preference (issue 12)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 15:40:00.000000

Each agent's pages show times in the agent's IANA time zone (``agent.time_zone``, UTC until
the agent chooses one on the account page).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``agent.time_zone`` (UTC for the agents there are)."""
    with op.batch_alter_table("agent") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="UTC"))


def downgrade() -> None:
    """Drop ``agent.time_zone``."""
    with op.batch_alter_table("agent") as batch:
        batch.drop_column("time_zone")
