"""The inbox's queries use the indexes made for them, with enough rows to matter (issue 16).

PostgreSQL picks a plan by its statistics: with a few rows a sequential scan is cheapest
whatever the indexes.  So the test loads 20,000 open tasks (plain rows, as the projection
holds them), analyses the table and reads the plans of the very queries the inbox sends.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from desk.agent.models import Agent
from engine import inbox
from engine.models import HumanTask, ProcessInstance
from tests.conftest import TEST_DB
from tests.inbox_data import tickets_with_triage

pytestmark = pytest.mark.skipif(TEST_DB != "postgresql", reason="plans are PostgreSQL's")

ROWS = 20_000


def _plan(session: Session, statement) -> str:
    compiled = statement.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    return "\n".join(session.execute(text(f"EXPLAIN {compiled}")).scalars())


@pytest.fixture
def many_open_tasks(session):
    tickets = tickets_with_triage(session, 4)
    instance_ids = [
        session.scalars(select(ProcessInstance.id).where(ProcessInstance.ticket_id == t.id)).one()
        for t in tickets
    ]
    session.execute(
        insert(HumanTask),
        [
            {
                "instance_id": instance_ids[n % 4],
                "ticket_id": tickets[n % 4].id,
                "ticket_queue_id": tickets[n % 4].queue_id,
                "task_guid": uuid.uuid4().hex,
                "bpmn_id": "triage",
                "name": "Triage",
                "process_id": "ticket_handling",
                "follows_ticket_queue": True,
                # Completed tasks pile up over the years; the open ones are the few.
                "state": "completed" if n % 5 else "open",
            }
            for n in range(ROWS)
        ],
    )
    session.execute(text("ANALYZE human_task"))
    return tickets


def test_a_page_of_the_inbox_is_read_off_the_inbox_index_without_sorting(session, many_open_tasks):
    secretary = session.scalars(select(Agent).where(Agent.login == "secretary")).one()
    query = inbox.task_page_query(session, agent=secretary, scope="all", queue_ids=None, limit=26, offset=0)

    plan = _plan(session, query)

    assert "ix_human_task_inbox" in plan, plan
    assert "Sort" not in plan, plan  # the index gives the order; nothing sorts the 4,000 open rows


def test_the_counts_per_queue_read_only_the_open_tasks_and_join_nothing(session, many_open_tasks):
    secretary = session.scalars(select(Agent).where(Agent.login == "secretary")).one()

    plan = _plan(session, inbox.counts_query(session, agent=secretary))

    assert "ix_human_task_state" in plan, plan
    assert "Seq Scan" not in plan, plan
    assert "Join" not in plan, plan
    assert "Nested Loop" not in plan, plan
