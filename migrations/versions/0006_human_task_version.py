"""human task version

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:50:00.000000

``human_task.version`` is an optimistic-lock counter: claiming, releasing and completing a
task are conditional updates on it, so two agents racing for one task cannot both win.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("human_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("human_task", schema=None) as batch_op:
        batch_op.drop_column("version")
