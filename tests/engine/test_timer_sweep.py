"""The periodic sweep fires timers that fell due, also those missed while nothing ran."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from core import config, db
from core.db import make_engine, make_sessionmaker, session_scope
from core.migrate import upgrade
from desk.actor import SYSTEM
from desk.demo import seed_demo
from desk.queue.models import Queue
from desk.ticket import service as tickets
from engine import definitions, runtime
from engine.models import HumanTask, ProcessInstance
from engine.tasks import fire_due_timers_now
from tests.conftest import WORKER, create_pg_database
from tests.engine.test_runtime import DIAGRAM, FORMS


@pytest.fixture
def sweep_db(monkeypatch):
    url = create_pg_database(f"tf_sweep_{WORKER}")
    engine = make_engine(url)
    upgrade(engine)
    monkeypatch.setenv("TICKETFLOW_DATABASE_URL", url)
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()
    yield make_sessionmaker(engine)
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()
    engine.dispose()


@pytest.mark.slow
def test_a_timer_missed_while_everything_was_down_fires_once_at_the_next_sweep(sweep_db):
    with session_scope(sweep_db) as session:
        seed_demo(session)
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=DIAGRAM, forms=FORMS)
        raw = session.scalars(select(Queue).where(Queue.name == "Raw")).one()
        ticket = tickets.create_ticket(session, actor=SYSTEM, title="Silent customer", queue=raw)
        instance = runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="mini")
        task = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).one()
        runtime.complete_task(session, actor=SYSTEM, task_id=task.id, data={"question": "Which printer?"})
        instance_id, due = instance.id, instance.next_timer_due

    assert fire_due_timers_now() == []  # nothing due yet
    # Three days later, as if the whole installation had been off since.
    with time_machine.travel(due + timedelta(days=3), tick=False):
        assert fire_due_timers_now() == [instance_id]
        assert fire_due_timers_now() == []  # fired once, not again

    with session_scope(sweep_db) as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance.status == "completed"
        assert instance.next_timer_due is None
        notes = [a.body_text for a in instance.ticket.articles if a.channel == "note"]
        assert notes == ["No answer from the customer: Which printer?"]
