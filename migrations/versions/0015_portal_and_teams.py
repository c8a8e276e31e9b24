"""portal and teams

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 12:30:00.000000

Customer portal, problems and availability (issue 15).
"""

from collections.abc import Sequence

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Placeholder: filled by the work on its issue."""


def downgrade() -> None:
    """Placeholder: filled by the work on its issue."""
