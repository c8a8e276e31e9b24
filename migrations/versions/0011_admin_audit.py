"""admin audit

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 12:30:00.000000

Admin audit (issue 11): audit entries, agent administration.
"""

from collections.abc import Sequence

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Placeholder: filled by the work on its issue."""


def downgrade() -> None:
    """Placeholder: filled by the work on its issue."""
