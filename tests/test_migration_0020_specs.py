"""Migration 0020 moves stored definitions out of existing instances, on both databases."""

from __future__ import annotations

import importlib
import json

import pytest
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text

from core.db import make_engine, make_sessionmaker, session_scope
from core.migrate import upgrade
from desk.actor import SYSTEM
from desk.demo import seed_demo
from desk.queue.models import Queue
from desk.ticket import service as tickets
from engine import definitions, runtime, serialization
from engine.models import HumanTask, ProcessInstance
from flows import tasks as task_flow
from tests.conftest import WORKER, create_pg_database

specs_migration = importlib.import_module("migrations.versions.0020_engine_specs")


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url_0020(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'specs.sqlite3'}"
    return create_pg_database(f"tf_migrate_specs_{WORKER}")


def _open_task(session, instance_id):
    return session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == "open")
    ).one()


def test_an_instance_stored_in_the_old_format_loads_and_advances_after_the_upgrade(database_url_0020):
    engine = make_engine(database_url_0020)
    factory = make_sessionmaker(engine)
    try:
        upgrade(engine)
        with session_scope(factory) as session:
            seed_demo(session)
            definitions.deploy_directory(session, actor=SYSTEM)
            raw = session.scalars(select(Queue).where(Queue.name == "Raw")).one()
            ids = []
            for n in range(3):
                ticket = tickets.create_ticket(session, actor=SYSTEM, title=f"Old format {n}", queue=raw)
                ids.append(runtime.start(session, actor=SYSTEM, ticket=ticket).id)
        # 0020's downgrade: the rows now hold SpiffWorkflow's whole JSON, as before this change.
        # Run on its own (0021's SQLite downgrade cannot rebuild the agent table under data).
        with engine.begin() as connection, Operations.context(MigrationContext.configure(connection)):
            specs_migration.downgrade()
        with engine.connect() as connection:
            old = [
                json.loads(row[0])
                for row in connection.execute(text("SELECT workflow_json FROM process_instance"))
            ]
        assert old
        assert all("spec" in stored and "spec_hash" not in stored for stored in old)

        with engine.begin() as connection, Operations.context(MigrationContext.configure(connection)):
            specs_migration.upgrade()
        # Another process: nothing cached, the definition comes from its row.
        serialization._spec_texts.clear()
        serialization._restored.clear()
        with session_scope(factory) as session:
            instances = [session.get(ProcessInstance, i) for i in ids]
            assert len({instance.spec_hash for instance in instances}) == 1
            assert all("spec" not in json.loads(instance.workflow_json) for instance in instances)
            stored = session.scalar(text("SELECT count(*) FROM process_spec"))
            assert stored == 1
            triage = _open_task(session, ids[0])
            assert triage.name == "Triage"
            task_flow.complete(
                session,
                actor=SYSTEM,
                task_id=triage.id,
                data={"decision": "move", "target_queue": "2nd level"},
            )
        with session_scope(factory) as session:
            assert _open_task(session, ids[0]).name == "Work"
    finally:
        engine.dispose()
