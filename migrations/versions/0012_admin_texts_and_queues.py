"""admin texts and queues

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:30:00.000000

Admin texts, queues, states, system addresses (issue 11).
"""

from collections.abc import Sequence

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Placeholder: filled by the work on its issue."""


def downgrade() -> None:
    """Placeholder: filled by the work on its issue."""
