"""customer API tokens

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:00.000000

An API token belongs to an agent or to a customer user: ``api_token.agent_id`` becomes
nullable, ``api_token.customer_user_id`` is added, and a CHECK requires exactly one of
them.  On SQLite the table is rebuilt (batch mode).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK = "(agent_id IS NULL) <> (customer_user_id IS NULL)"


def upgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_user_id", sa.Integer(), nullable=True))
        batch_op.alter_column("agent_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_api_token_customer_user_id_customer_user"),
            "customer_user",
            ["customer_user_id"],
            ["id"],
        )
        batch_op.create_index(batch_op.f("ix_api_token_customer_user_id"), ["customer_user_id"], unique=False)
        batch_op.create_check_constraint(batch_op.f("ck_api_token_one_owner"), CHECK)


def downgrade() -> None:
    # Customer tokens cannot exist without the column; they are removed with it.
    op.execute("DELETE FROM api_token WHERE agent_id IS NULL")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_api_token_one_owner"), type_="check")
        batch_op.drop_index(batch_op.f("ix_api_token_customer_user_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_api_token_customer_user_id_customer_user"), type_="foreignkey"
        )
        batch_op.drop_column("customer_user_id")
        batch_op.alter_column("agent_id", existing_type=sa.Integer(), nullable=False)
