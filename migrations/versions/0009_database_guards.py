"""database guards

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 10:40:00.000000

Nothing is deleted, now also below the ORM: triggers refuse ``DELETE`` (and, on
PostgreSQL, ``TRUNCATE``) of tickets, articles, attachments, raw mails, blobs and history
rows, and ``UPDATE`` of history rows and blobs, whoever sends the statement (a bulk ORM
``delete()``, a psql session, a future migration).  ``desk.guards`` still refuses the same in
the ORM, with a friendlier error, before anything reaches the database.

``queue.customer_facing`` marks the queues customers may open tickets in (API tokens, later
the portal).  Existing queues with a system address become customer-facing: anyone on the
internet can already open a ticket there by mail, so this opens nothing new; every other
queue stays closed to customers until an administrator says otherwise.

SQLite note: a batch migration that rebuilds one of the guarded tables drops its triggers
with the old table; such a migration must create them again (``tests/desk/
test_database_guards.py`` checks the head schema on both databases).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEVER_DELETED = ("ticket", "article", "attachment", "raw_mail", "blob", "ticket_history")
NEVER_CHANGED = ("ticket_history", "blob")

_PG_REFUSE_DELETE = """
CREATE FUNCTION ticketflow_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Ticketflow never deletes % rows (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'Nothing is deleted: close, merge or mark the record instead.';
END
$$
"""
_PG_REFUSE_UPDATE = """
CREATE FUNCTION ticketflow_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Ticketflow never changes % rows (UPDATE refused)', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation',
              HINT = 'History is append-only and blobs are content-addressed: add a new row.';
END
$$
"""


def upgrade() -> None:
    with op.batch_alter_table("queue", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("customer_facing", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute("UPDATE queue SET customer_facing = true WHERE system_address IS NOT NULL")

    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_REFUSE_DELETE)
        op.execute(_PG_REFUSE_UPDATE)
        for table in NEVER_DELETED:
            op.execute(
                f"CREATE TRIGGER ticketflow_never_delete BEFORE DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ticketflow_refuse_delete()"
            )
            # TRUNCATE fires no row triggers; it gets its own statement trigger.
            op.execute(
                f"CREATE TRIGGER ticketflow_never_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ticketflow_refuse_delete()"
            )
        for table in NEVER_CHANGED:
            op.execute(
                f"CREATE TRIGGER ticketflow_never_update BEFORE UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ticketflow_refuse_update()"
            )
    else:
        # SQLite has no TRUNCATE, and its trigger names are global to the database.
        for table in NEVER_DELETED:
            op.execute(
                f"CREATE TRIGGER ticketflow_never_delete_{table} BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'Ticketflow never deletes {table} rows (DELETE refused)'); END"
            )
        for table in NEVER_CHANGED:
            op.execute(
                f"CREATE TRIGGER ticketflow_never_update_{table} BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'Ticketflow never changes {table} rows (UPDATE refused)'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in NEVER_CHANGED:
            op.execute(f"DROP TRIGGER ticketflow_never_update ON {table}")
        for table in NEVER_DELETED:
            op.execute(f"DROP TRIGGER ticketflow_never_truncate ON {table}")
            op.execute(f"DROP TRIGGER ticketflow_never_delete ON {table}")
        op.execute("DROP FUNCTION ticketflow_refuse_update()")
        op.execute("DROP FUNCTION ticketflow_refuse_delete()")
    else:
        for table in NEVER_CHANGED:
            op.execute(f"DROP TRIGGER ticketflow_never_update_{table}")
        for table in NEVER_DELETED:
            op.execute(f"DROP TRIGGER ticketflow_never_delete_{table}")
    with op.batch_alter_table("queue", schema=None) as batch_op:
        batch_op.drop_column("customer_facing")
