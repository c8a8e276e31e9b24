"""stats rollup

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01 19:00:00.000000

Statistics at scale (placeholder, filled by the statistics work).
"""

from collections.abc import Sequence

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
