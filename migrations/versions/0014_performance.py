"""performance

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 12:30:00.000000

Performance (issue 16): ticket numbers, indexes, specs stored once.
"""

from collections.abc import Sequence

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Placeholder: filled by the work on its issue."""


def downgrade() -> None:
    """Placeholder: filled by the work on its issue."""
