"""agent's day: saved views, read markers, preferences (issue 12)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 15:40:00.000000

Placeholder: filled in by the work on this part.
"""

from collections.abc import Sequence

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
