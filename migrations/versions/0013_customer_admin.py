"""customer admin

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 12:30:00.000000

Customer administration and CSV import (issue 11).
"""

from collections.abc import Sequence

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Placeholder: filled by the work on its issue."""


def downgrade() -> None:
    """Placeholder: filled by the work on its issue."""
