"""service level rules

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01 19:00:00.000000

Service-level rules (placeholder, filled by the SLA-rules work).
"""

from collections.abc import Sequence

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
