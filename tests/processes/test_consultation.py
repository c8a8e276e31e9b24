"""S5 on the real ``bpmn/consultation.bpmn``, called from the Work step of ticket handling: a
consultant answers with internal notes and returns the ticket to the agent who asked, or
passes it on; several consultations can follow each other.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import PermissionDenied, TicketflowError
from desk.agent.models import Role
from engine import runtime
from tests.processes.support import (
    articles_of,
    assert_drawable,
    complete,
    may_do,
    new_agent,
    notes,
    one_task,
    round_trip,
    task_data,
    task_names,
)


@pytest.fixture
def people(agent):
    return {login: agent(login) for login in ("bob", "alice", "consultant", "authorizer", "secretary")}


@pytest.fixture
def at_work(session, people, start_process):
    """A ticket the secretary moved to 2nd level, where bob works on it."""
    instance = start_process()
    complete(session, people["secretary"], instance, "Triage", decision="move", target_queue="2nd level")
    return instance


def consultant_role(session):
    return session.scalars(select(Role).where(Role.name == "consultant")).one()


def test_bob_asks_for_a_consultation_and_any_consultant_may_answer(session, people, at_work):
    bob, consultant = people["bob"], people["consultant"]

    complete(
        session, bob, at_work, "Work", action="consult", consultation_question="Is this firmware bug known?"
    )

    consult = one_task(session, at_work, "Consult")
    assert consult.process_id == "consultation"
    assert consult.lane == "Consultant"
    assert consult.candidate_role_id == consultant_role(session).id
    assert consult.candidate_agent_id is None
    assert may_do(session, consult, *people.values()) == {
        "bob": False,
        "alice": False,
        "consultant": True,
        "authorizer": False,
        "secretary": False,
    }
    with pytest.raises(PermissionDenied):
        runtime.complete_task(session, actor=bob, task_id=consult.id, data={"outcome": "return"})
    assert notes(session, at_work.ticket)[-1] == (
        "Question for the consultant",
        "Is this firmware bug known?",
    )
    round_trip(session, at_work)

    complete(
        session, consultant, at_work, "Consult", note="Known bug; firmware 2.1 fixes it.", outcome="return"
    )

    assert notes(session, at_work.ticket)[-1] == ("Consultation", "Known bug; firmware 2.1 fixes it.")
    work = one_task(session, at_work, "Work")
    assert work.candidate_agent_id == bob.id
    carol = new_agent(session, "carol", groups=["second_level"])
    assert may_do(session, work, bob, carol, consultant) == {"bob": True, "carol": False, "consultant": False}
    data = task_data(at_work, work)
    assert data["worker_agent_id"] == bob.id
    assert data["consulted_by_agent_id"] == consultant.id  # the consultation's only output
    assert "note" not in data
    assert "outcome" not in data
    round_trip(session, at_work)


def test_a_named_consultant_gets_the_task_and_nobody_else(session, people, at_work):
    expert = new_agent(session, "expert", roles=["consultant"])

    complete(session, people["bob"], at_work, "Work", action="consult", consultant="expert")

    consult = one_task(session, at_work, "Consult")
    assert consult.candidate_agent_id == expert.id
    assert may_do(session, consult, expert, people["consultant"], people["bob"]) == {
        "expert": True,
        "consultant": False,
        "bob": False,
    }


def test_two_consultations_in_a_row_each_return_to_bob(session, people, at_work):
    bob, consultant = people["bob"], people["consultant"]
    expert = new_agent(session, "expert", roles=["consultant"])

    complete(session, bob, at_work, "Work", action="consult", consultant="expert")
    complete(session, expert, at_work, "Consult", note="Ask about the toner.", outcome="return")
    assert one_task(session, at_work, "Work").candidate_agent_id == bob.id

    # The second time bob names nobody: the earlier choice of "expert" is not reused.
    complete(session, bob, at_work, "Work", action="consult")
    second = one_task(session, at_work, "Consult")
    assert second.candidate_agent_id is None
    assert may_do(session, second, expert, consultant) == {"expert": True, "consultant": True}
    complete(session, consultant, at_work, "Consult", note="Toner is fine.", outcome="return")

    assert [body for subject, body in notes(session, at_work.ticket) if subject == "Consultation"] == [
        "Ask about the toner.",
        "Toner is fine.",
    ]
    assert task_names(session, at_work) == ["Work"]
    assert one_task(session, at_work, "Work").candidate_agent_id == bob.id


def test_a_consultant_passes_on_to_another_who_returns_to_bob(session, people, at_work):
    bob, consultant = people["bob"], people["consultant"]
    expert = new_agent(session, "expert", roles=["consultant"])
    complete(session, bob, at_work, "Work", action="consult")

    complete(
        session,
        consultant,
        at_work,
        "Consult",
        note="Not my field; the printer expert knows.",
        outcome="pass_on",
        next_consultant="expert",
    )

    passed = one_task(session, at_work, "Consult")
    assert passed.candidate_agent_id == expert.id
    assert may_do(session, passed, consultant, expert, bob) == {
        "consultant": False,
        "expert": True,
        "bob": False,
    }
    round_trip(session, at_work)
    # The first answer is not written a second time when the expert adds none.
    complete(session, expert, at_work, "Consult", outcome="return")

    assert [body for subject, body in notes(session, at_work.ticket) if subject == "Consultation"] == [
        "Not my field; the printer expert knows."
    ]
    work = one_task(session, at_work, "Work")
    assert work.candidate_agent_id == bob.id
    assert task_data(at_work, work)["consulted_by_agent_id"] == expert.id


def test_passing_on_to_any_consultant(session, people, at_work):
    complete(session, people["bob"], at_work, "Work", action="consult", consultant="consultant")

    complete(session, people["consultant"], at_work, "Consult", outcome="pass_on")

    task = one_task(session, at_work, "Consult")
    assert task.candidate_agent_id is None
    assert task.candidate_role_id == consultant_role(session).id


def test_an_unknown_consultant_login_is_refused_and_nothing_changes(session, people, at_work):
    work = one_task(session, at_work, "Work")

    with pytest.raises(TicketflowError, match="nobody"), session.begin_nested():
        runtime.complete_task(
            session, actor=people["bob"], task_id=work.id, data={"action": "consult", "consultant": "nobody"}
        )

    session.refresh(at_work)
    assert one_task(session, at_work, "Work").id == work.id


def test_the_diagram_deploys_and_has_a_picture_for_the_designer(deployed):
    assert "consultation" in {v.process_id for v in deployed}
    assert_drawable("consultation.bpmn")


def test_the_question_and_the_answer_are_authored_by_who_wrote_them(session, people, at_work):
    bob, consultant = people["bob"], people["consultant"]
    complete(
        session, bob, at_work, "Work", action="consult", consultation_question="Is this firmware bug known?"
    )
    complete(
        session, consultant, at_work, "Consult", note="Known bug; firmware 2.1 fixes it.", outcome="return"
    )

    authored = [
        (a.subject, a.sender_type, a.created_by_agent_id, a.is_visible_for_customer)
        for a in articles_of(session, at_work.ticket)
        if a.channel == "note"
    ]
    assert authored == [
        ("Question for the consultant", "agent", bob.id, False),
        ("Consultation", "agent", consultant.id, False),
    ]
