"""A task's candidates can always read its ticket (on the real consultation process).

Naming a consultant who may not read the ticket fails the form that named them, with the
agents who could, and changes nothing; a task whose ticket moved out of a candidate's reach
leaves their inbox and is *not found* to them.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import NotFound, ValidationError
from desk.actor import SYSTEM
from desk.queue.models import Queue
from desk.ticket import service as tickets
from engine import inbox, runtime
from engine.models import HumanTask
from flows import tasks as task_flows
from tests.processes.support import complete, may_do, new_agent, notes, one_task, task_names


@pytest.fixture
def people(agent):
    return {login: agent(login) for login in ("bob", "alice", "consultant", "observer", "secretary")}


@pytest.fixture
def at_work(session, people, start_process):
    """A ticket the secretary moved to 2nd level, where bob works on it."""
    instance = start_process()
    complete(session, people["secretary"], instance, "Triage", decision="move", target_queue="2nd level")
    return instance


def ask(session, people, at_work, consultant: str) -> ValidationError:
    """Bob asks ``consultant``; returns the refusal (and checks that nothing changed)."""
    work = one_task(session, at_work, "Work")
    task_flows.claim(session, actor=people["bob"], task_id=work.id)
    notes_before = notes(session, at_work.ticket)
    json_before, version_before = at_work.workflow_json, at_work.version

    with pytest.raises(ValidationError) as refused:
        task_flows.complete(
            session,
            actor=people["bob"],
            task_id=work.id,
            data={"action": "consult", "consultant": consultant, "consultation_question": "Known bug?"},
        )

    # Nothing changed, though the caller has not rolled back anything.
    assert (at_work.workflow_json, at_work.version) == (json_before, version_before)
    assert task_names(session, at_work) == ["Work"]
    assert session.get(HumanTask, work.id).state == "open"
    assert notes(session, at_work.ticket) == notes_before
    return refused.value


def test_naming_a_consultant_who_cannot_read_the_ticket_is_refused_with_who_could(session, people, at_work):
    expert = new_agent(session, "expert", roles=["consultant"])
    assert expert.id  # a second member of the role, who may read 2nd level through it

    refused = ask(session, people, at_work, "alice")  # alice works in 1st level only

    assert refused.http_status == 422
    assert "alice may not read ticket" in refused.message
    assert "2nd level" in refused.message
    assert "agents who could: consultant, expert" in refused.message
    assert refused.errors == {"_form": [refused.message]}


def test_naming_an_observer_is_refused(session, people, at_work):
    refused = ask(session, people, at_work, "observer")

    assert "observer cannot work on tasks" in refused.message
    assert "consultant" in refused.message


def test_an_unknown_login_is_a_422_not_a_process_error(session, people, at_work):
    refused = ask(session, people, at_work, "nobody")

    assert refused.http_status == 422
    assert "no agent with the login 'nobody'" in refused.message


def test_passing_on_to_a_consultant_who_cannot_read_the_ticket_is_refused(session, people, at_work):
    complete(session, people["bob"], at_work, "Work", action="consult", consultation_question="Known?")
    consult = one_task(session, at_work, "Consult")
    task_flows.claim(session, actor=people["consultant"], task_id=consult.id)

    with pytest.raises(ValidationError, match=r"alice may not read ticket .*agents who could: consultant"):
        task_flows.complete(
            session,
            actor=people["consultant"],
            task_id=consult.id,
            data={"note": "Ask Alice.", "outcome": "pass_on", "next_consultant": "alice"},
        )

    assert one_task(session, at_work, "Consult").id == consult.id
    assert "Ask Alice." not in [body for _subject, body in notes(session, at_work.ticket)]


def test_a_task_whose_ticket_moved_out_of_reach_leaves_the_inbox(session, people, at_work):
    consultant = people["consultant"]
    complete(session, people["bob"], at_work, "Work", action="consult", consultant="consultant")
    consult = one_task(session, at_work, "Consult")
    assert consult.candidate_agent_id == consultant.id
    assert consult.id in [t.id for t in inbox.tasks_for(session, agent=consultant)]

    # Finance is out of the consultant role's reach.
    finance = session.scalars(select(Queue).where(Queue.name == "Finance")).one()
    tickets.move(session, actor=SYSTEM, ticket=at_work.ticket, queue=finance)
    session.flush()

    assert may_do(session, consult, consultant) == {"consultant": False}
    assert consult.id not in [t.id for t in inbox.tasks_for(session, agent=consultant)]
    assert inbox.counts_by_queue(session, agent=consultant).get(finance.id, 0) == 0
    for attempt in (task_flows.get, task_flows.claim, task_flows.release):
        with pytest.raises(NotFound, match="no such task"):
            attempt(session, actor=consultant, task_id=consult.id)
    with pytest.raises(NotFound, match="no such task"):
        runtime.complete_task(session, actor=consultant, task_id=consult.id, data={"outcome": "return"})
