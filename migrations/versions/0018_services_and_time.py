"""services, time accounting and in-app notifications (issue 14)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 15:40:00.000000

Placeholder: filled in by the work on this part.
"""

from collections.abc import Sequence

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
