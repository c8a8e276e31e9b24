"""engine: specs stored once per version (issue 16)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 15:40:00.000000

Every process instance stored SpiffWorkflow's whole JSON, the process definition included.
The definition (``spec`` and ``subprocess_specs``) now lives once per content hash in
``process_spec`` and the instance keeps its state and the hash.  Existing rows are split in
batches; the hash is taken over the same canonical JSON ``engine.serialization`` writes, so
a row split here and a row saved by the engine share one definition.  Self-contained (no
engine import): a migration must keep working when the engine changes.
"""

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 200

_instance = sa.table(
    "process_instance",
    sa.column("id", sa.Integer()),
    sa.column("workflow_json", sa.Text()),
    sa.column("spec_hash", sa.String(64)),
)
_spec = sa.table(
    "process_spec",
    sa.column("hash", sa.String(64)),
    sa.column("spec_json", sa.Text()),
    sa.column("created_at", core.db.UTCDateTime()),
)


def _canonical(stored: dict[str, Any]) -> str:
    # Must match engine.serialization.spec_text.
    body = {
        "spec": stored.pop("spec"),
        "subprocess_specs": stored.pop("subprocess_specs", {}),
        "serializer_version": stored.get("serializer_version"),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def upgrade() -> None:
    """Create process_spec, give instances a spec_hash and split their stored JSON."""
    op.create_table(
        "process_spec",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("spec_json", sa.Text(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_process_spec")),
    )
    fk_name = op.f("fk_process_instance_spec_hash_process_spec")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a nullable column with its reference in place; a batch rebuild of
        # process_instance would fail once human_task rows refer to it.
        op.execute(
            f"ALTER TABLE process_instance ADD COLUMN spec_hash VARCHAR(64) "
            f"CONSTRAINT {fk_name} REFERENCES process_spec (hash)"
        )
    else:
        op.add_column("process_instance", sa.Column("spec_hash", sa.String(length=64), nullable=True))
        op.create_foreign_key(fk_name, "process_instance", "process_spec", ["spec_hash"], ["hash"])
    op.create_index(op.f("ix_process_instance_spec_hash"), "process_instance", ["spec_hash"], unique=False)

    connection = op.get_bind()
    known: set[str] = set()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(_instance.c.id, _instance.c.workflow_json)
            .where(_instance.c.id > last_id)
            .order_by(_instance.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        last_id = rows[-1].id
        specs: dict[str, str] = {}
        updates: list[dict[str, Any]] = []
        for row in rows:
            try:
                stored = json.loads(row.workflow_json)
            except ValueError:
                continue  # a damaged row stays as it is (the ticket page already shows it so)
            if not isinstance(stored, dict) or "spec" not in stored:
                continue
            text = _canonical(stored)
            digest = hashlib.sha256(text.encode()).hexdigest()
            stored["spec_hash"] = digest
            specs[digest] = text
            updates.append({"row_id": row.id, "state": json.dumps(stored), "digest": digest})
        new = {d: t for d, t in specs.items() if d not in known}
        if new:
            present = set(
                connection.scalars(sa.select(_spec.c.hash).where(_spec.c.hash.in_(list(new)))).all()
            )
            rows_to_add = [
                {"hash": d, "spec_json": t, "created_at": core.db.utcnow()}
                for d, t in new.items()
                if d not in present
            ]
            if rows_to_add:
                connection.execute(_spec.insert(), rows_to_add)
            known.update(new)
        if updates:
            connection.execute(
                _instance.update()
                .where(_instance.c.id == sa.bindparam("row_id"))
                .values(workflow_json=sa.bindparam("state"), spec_hash=sa.bindparam("digest")),
                updates,
            )


def downgrade() -> None:
    """Put every definition back into its instances' JSON and drop process_spec."""
    connection = op.get_bind()
    cache: dict[str, dict[str, Any]] = {}
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(_instance.c.id, _instance.c.workflow_json, _instance.c.spec_hash)
            .where(_instance.c.id > last_id, _instance.c.spec_hash.is_not(None))
            .order_by(_instance.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        last_id = rows[-1].id
        updates: list[dict[str, Any]] = []
        for row in rows:
            if row.spec_hash not in cache:
                text = connection.scalar(sa.select(_spec.c.spec_json).where(_spec.c.hash == row.spec_hash))
                cache[row.spec_hash] = json.loads(text)
            body = cache[row.spec_hash]
            stored = json.loads(row.workflow_json)
            stored.pop("spec_hash", None)
            stored["spec"] = body["spec"]
            stored["subprocess_specs"] = body["subprocess_specs"]
            updates.append({"row_id": row.id, "full": json.dumps(stored)})
        connection.execute(
            _instance.update()
            .where(_instance.c.id == sa.bindparam("row_id"))
            .values(workflow_json=sa.bindparam("full")),
            updates,
        )
    op.drop_index(op.f("ix_process_instance_spec_hash"), table_name="process_instance")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite drops a column that only references another table in place (no rebuild).
        op.execute("ALTER TABLE process_instance DROP COLUMN spec_hash")
    else:
        op.drop_constraint(
            op.f("fk_process_instance_spec_hash_process_spec"), "process_instance", type_="foreignkey"
        )
        op.drop_column("process_instance", "spec_hash")
    op.drop_table("process_spec")
