"""mailbox secrets

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 12:30:00.000000

Mailbox secrets (issue 10): encrypted passwords, OAuth2 settings, oversize folder.
"""

from collections.abc import Sequence

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Placeholder: filled by the work on its issue."""


def downgrade() -> None:
    """Placeholder: filled by the work on its issue."""
