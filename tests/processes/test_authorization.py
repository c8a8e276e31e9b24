"""S6 on the real ``bpmn/authorization.bpmn``, called from the Work step of ticket handling: an
authorizer approves or rejects with a comment, never the agent who asked, and the agent goes
on with the decision in the process data.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import PermissionDenied, ValidationError
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.agent.models import Role
from engine import runtime
from engine.registry import OperatorContext
from processes import operators
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
)

REQUEST = "Refund 120 EUR for the broken toner cartridge"


@pytest.fixture
def people(agent):
    return {login: agent(login) for login in ("bob", "authorizer", "consultant", "secretary", "observer")}


@pytest.fixture
def requested(session, people, start_process):
    """Bob works on a 2nd level ticket and asks for an authorization."""
    instance = start_process()
    complete(session, people["secretary"], instance, "Triage", decision="move", target_queue="2nd level")
    complete(session, people["bob"], instance, "Work", action="authorize", authorization_request=REQUEST)
    return instance


def authorizer_role(session):
    return session.scalars(select(Role).where(Role.name == "authorizer")).one()


def test_the_request_goes_to_the_authorizers_and_is_noted(session, people, requested):
    task = one_task(session, requested, "Authorize")

    assert task.process_id == "authorization"
    assert task.candidate_role_id == authorizer_role(session).id
    assert task.excluded_agent_id == people["bob"].id
    assert may_do(session, task, *people.values()) == {
        "bob": False,
        "authorizer": True,
        "consultant": False,
        "secretary": False,
        "observer": False,
    }
    assert notes(session, requested.ticket)[-1] == ("Authorization requested", REQUEST)
    round_trip(session, requested)


def test_the_requester_cannot_authorize_even_as_an_authorizer(session, people, requested):
    bob = people["bob"]
    agents.add_role(session, actor=SYSTEM, agent=bob, role=authorizer_role(session))
    task = one_task(session, requested, "Authorize")

    assert not runtime.is_candidate(session, bob, task)
    with pytest.raises(PermissionDenied, match="another agent"):
        runtime.claim(session, actor=bob, task_id=task.id)
    with pytest.raises(PermissionDenied, match="another agent"):
        runtime.complete_task(session, actor=bob, task_id=task.id, data={"decision": "approve"})
    # Any other authorizer may, also one who works in the same queue.
    colleague = new_agent(session, "dora", roles=["authorizer"], groups=["second_level"])
    assert runtime.is_candidate(session, colleague, task)
    assert one_task(session, requested, "Authorize").id == task.id


def test_approval_sends_the_work_back_to_bob_with_the_decision(session, people, requested):
    bob, authorizer = people["bob"], people["authorizer"]

    complete(session, authorizer, requested, "Authorize", decision="approve", comment="Within policy.")

    assert notes(session, requested.ticket)[-1] == ("Authorization", "Approved: Within policy.")
    work = one_task(session, requested, "Work")
    assert work.candidate_agent_id == bob.id
    assert may_do(session, work, bob, authorizer) == {"bob": True, "authorizer": False}
    data = task_data(requested, work)
    assert data["authorization_approved"] is True
    assert data["authorization_comment"] == "Within policy."
    assert data["authorized_by_agent_id"] == authorizer.id
    # Only the declared outputs come back: the triage decision is still the caller's own.
    assert data["decision"] == "move"
    assert "comment" not in data
    round_trip(session, requested)


def test_approval_without_a_comment_says_approved(session, people, requested):
    complete(session, people["authorizer"], requested, "Authorize", decision="approve")

    assert notes(session, requested.ticket)[-1] == ("Authorization", "Approved")
    assert task_data(requested, one_task(session, requested, "Work"))["authorization_approved"] is True


def test_a_rejection_needs_a_comment_and_leaves_it_as_a_note(session, people, requested):
    authorizer = people["authorizer"]
    task = one_task(session, requested, "Authorize")
    with pytest.raises(ValidationError) as error:
        runtime.complete_task(session, actor=authorizer, task_id=task.id, data={"decision": "reject"})
    assert "comment" in error.value.errors

    complete(session, authorizer, requested, "Authorize", decision="reject", comment="Warranty expired.")

    assert notes(session, requested.ticket)[-1] == ("Authorization", "Rejected: Warranty expired.")
    work = one_task(session, requested, "Work")
    assert work.candidate_agent_id == people["bob"].id
    data = task_data(requested, work)
    assert data["authorization_approved"] is False
    assert data["authorization_comment"] == "Warranty expired."


def test_a_second_request_is_decided_afresh(session, people, requested):
    bob, authorizer = people["bob"], people["authorizer"]
    complete(session, authorizer, requested, "Authorize", decision="reject", comment="Too much.")

    complete(session, bob, requested, "Work", action="authorize", authorization_request="Refund 60 EUR")
    assert one_task(session, requested, "Authorize").excluded_agent_id == bob.id
    complete(session, authorizer, requested, "Authorize", decision="approve")

    data = task_data(requested, one_task(session, requested, "Work"))
    assert data["authorization_approved"] is True
    assert data["authorization_comment"] == ""
    subjects = [subject for subject, _ in notes(session, requested.ticket)]
    assert subjects.count("Authorization requested") == 2
    assert subjects.count("Authorization") == 2


def test_the_diagram_deploys_and_has_a_picture_for_the_designer(deployed):
    assert "authorization" in {v.process_id for v in deployed}
    assert_drawable("authorization.bpmn")


def test_the_notes_are_authored_by_the_requester_and_by_the_authorizer(session, people, requested):
    """Text from a task form shows its writer in the thread, not "the system"."""
    complete(
        session, people["authorizer"], requested, "Authorize", decision="reject", comment="Out of warranty"
    )

    authored = [
        (a.subject, a.sender_type, a.created_by_agent_id)
        for a in articles_of(session, requested.ticket)
        if a.channel == "note"
    ]
    assert authored == [
        ("Authorization requested", "agent", people["bob"].id),
        ("Authorization", "agent", people["authorizer"].id),
    ]


def test_a_note_is_never_written_in_the_name_of_an_agent_without_the_note_right(session, people, requested):
    """Decided: a task-form note is its writer's and needs their ``note`` right; without it the
    step fails (the task stays open) rather than the system writing it for them."""
    reader = new_agent(session, "olga")
    agents.grant_group(
        session,
        actor=SYSTEM,
        agent=reader,
        group=agents.get_group(session, name="second_level"),
        permissions=("ro",),
    )
    context = OperatorContext(
        session=session, ticket=requested.ticket, instance_id=requested.id, task_name="Authorize", data={}
    )

    with pytest.raises(PermissionDenied, match="note"), session.begin_nested():
        operators.add_note(context, text="Approved", subject="Authorization", as_agent=reader.id)

    assert [s for s, _ in notes(session, requested.ticket)] == ["Authorization requested"]
